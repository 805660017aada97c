import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesToHex, generateSecretKey, getPublicKey, hexToBytes } from '../src/crypto/index.js';
import { linkCommitment, linkConfirmationCode, newLinkKey, openLinkedKey, sealLinkedKey, LINK_SEALED_SIZE } from '../src/crypto/link.js';

const ID = 'ABCDE23456';

describe('device link', () => {
  test('the commitment is the one devicelink.Commitment computes', () => {
    // The generator's x coordinate; devicelink/devicelink_test.go pins the same digest.
    const g = hexToBytes('79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
    assert.equal(bytesToHex(linkCommitment(g)), 'f0eca7a14915bb7ab8dbd45acf0af76a14578856f8d5139a2cb39ff19993cd97');
  });

  test('both sides compute the same code, and it changes with every input', () => {
    const a = newLinkKey();
    const b = newLinkKey();
    const c = newLinkKey();
    const code = linkConfirmationCode(ID, a.publicKey, b.publicKey);
    assert.match(code, /^[0-9]{6}$/);
    assert.equal(linkConfirmationCode(ID, a.publicKey, b.publicKey), code);
    assert.notEqual(linkConfirmationCode(ID, a.publicKey, c.publicKey), code);
    assert.notEqual(linkConfirmationCode(ID, b.publicKey, a.publicKey), code);
    assert.notEqual(linkConfirmationCode('ABCDE23457', a.publicKey, b.publicKey), code);
    assert.throws(() => linkConfirmationCode('abcde23456', a.publicKey, b.publicKey), /link id/);
  });

  test('the secret key goes across, and only to the keys it was sealed between', () => {
    const account = generateSecretKey();
    const fresh = newLinkKey();
    const old = newLinkKey();
    const sealed = sealLinkedKey(account, { id: ID, oldSecret: old.secretKey, newPub: fresh.publicKey });
    assert.equal(sealed.length, LINK_SEALED_SIZE);
    const got = openLinkedKey(sealed, { id: ID, newSecret: fresh.secretKey, oldPub: old.publicKey });
    assert.deepEqual(got, account);
    assert.deepEqual(getPublicKey(got), getPublicKey(account));

    // A server that swapped in its own key as the old device's cannot make the new device accept its secret.
    const mallory = newLinkKey();
    const forged = sealLinkedKey(generateSecretKey(), { id: ID, oldSecret: mallory.secretKey, newPub: fresh.publicKey });
    assert.throws(() => openLinkedKey(forged, { id: ID, newSecret: fresh.secretKey, oldPub: old.publicKey }), { code: 'AUTH_FAILED' });
    assert.throws(() => openLinkedKey(sealed, { id: 'ABCDE23457', newSecret: fresh.secretKey, oldPub: old.publicKey }), { code: 'AUTH_FAILED' });
    const bad = Uint8Array.from(sealed);
    bad[40] ^= 1;
    assert.throws(() => openLinkedKey(bad, { id: ID, newSecret: fresh.secretKey, oldPub: old.publicKey }), { code: 'AUTH_FAILED' });
    assert.throws(() => openLinkedKey(sealed.subarray(1), { id: ID, newSecret: fresh.secretKey, oldPub: old.publicKey }), { code: 'MALFORMED' });
  });
});
