import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  b64urlToBuf,
  b64urlToBytes,
  bufToB64url,
  createPasskey,
  creationOptionsFromJSON,
  credentialToJSON,
  getPasskey,
  requestOptionsFromJSON,
} from '../src/webauthn.js';

const bytes = (...a) => Uint8Array.from(a);

test('base64url matches Buffer for every length and byte', () => {
  for (let n = 0; n < 70; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n * 11) & 255);
    const want = Buffer.from(b).toString('base64url');
    assert.equal(bufToB64url(b), want, `len ${n}`);
    assert.equal(bufToB64url(b.buffer), want);
    assert.deepEqual(b64urlToBytes(want), b);
  }
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(b64urlToBytes(bufToB64url(all)), all);
});

test('views are encoded over their own window, not the whole buffer', () => {
  const big = bytes(9, 9, 1, 2, 3, 9);
  assert.equal(bufToB64url(big.subarray(2, 5)), Buffer.from([1, 2, 3]).toString('base64url'));
  assert.equal(bufToB64url(new DataView(big.buffer, 2, 3)), 'AQID');
});

test('decoding accepts padding and standard alphabet, refuses junk', () => {
  assert.deepEqual(b64urlToBytes('AQI='), bytes(1, 2));
  assert.deepEqual(b64urlToBytes('-_8'), b64urlToBytes('+/8'));
  for (const bad of ['A', 'AB$C', 'é', 12]) assert.throws(() => b64urlToBytes(bad), TypeError, String(bad));
  assert.ok(b64urlToBuf('AQID') instanceof ArrayBuffer);
});

const creation = {
  publicKey: {
    rp: { name: 'Hotline', id: 'localhost' },
    user: { id: 'dXNlcg', name: 'npub1x', displayName: 'Volunteer' },
    challenge: 'Y2hhbGxlbmdl',
    pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    timeout: 60000,
    excludeCredentials: [{ type: 'public-key', id: 'AQID', transports: ['internal'] }],
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    attestation: 'none',
  },
};

test('creation options: buffers decoded, the rest kept, wrapped or not', () => {
  for (const input of [creation, creation.publicKey]) {
    const o = creationOptionsFromJSON(input);
    assert.deepEqual(new Uint8Array(o.challenge), new TextEncoder().encode('challenge'));
    assert.deepEqual(new Uint8Array(o.user.id), new TextEncoder().encode('user'));
    assert.equal(o.user.name, 'npub1x');
    assert.deepEqual(new Uint8Array(o.excludeCredentials[0].id), bytes(1, 2, 3));
    assert.deepEqual(o.excludeCredentials[0].transports, ['internal']);
    assert.equal(o.authenticatorSelection.userVerification, 'required');
    assert.equal(o.rp.id, 'localhost');
  }
  assert.throws(() => creationOptionsFromJSON(null), /options missing/);
});

test('request options: challenge and allowCredentials decoded', () => {
  const o = requestOptionsFromJSON({ publicKey: { challenge: 'AAEC', rpId: 'localhost', allowCredentials: [{ type: 'public-key', id: 'BAUG' }], userVerification: 'required' } });
  assert.deepEqual(new Uint8Array(o.challenge), bytes(0, 1, 2));
  assert.deepEqual(new Uint8Array(o.allowCredentials[0].id), bytes(4, 5, 6));
  assert.equal(o.rpId, 'localhost');
  const bare = requestOptionsFromJSON({ challenge: 'AAEC' });
  assert.equal(bare.allowCredentials, undefined);
});

function fakeAttestation() {
  return {
    id: 'cred-1',
    rawId: bytes(0xc1, 0xc2).buffer,
    type: 'public-key',
    authenticatorAttachment: 'platform',
    response: { clientDataJSON: bytes(1).buffer, attestationObject: bytes(2, 3).buffer, getTransports: () => ['internal'] },
    getClientExtensionResults: () => ({ credProps: { rk: true } }),
  };
}

function fakeAssertion() {
  return {
    id: 'cred-1',
    rawId: bytes(0xc1, 0xc2).buffer,
    type: 'public-key',
    response: { clientDataJSON: bytes(1).buffer, authenticatorData: bytes(4).buffer, signature: bytes(5, 6).buffer, userHandle: bytes(7).buffer },
    getClientExtensionResults: () => ({}),
  };
}

test('attestation and assertion serialise to go-webauthn JSON', () => {
  assert.deepEqual(credentialToJSON(fakeAttestation()), {
    id: 'cred-1',
    rawId: 'wcI',
    type: 'public-key',
    authenticatorAttachment: 'platform',
    response: { clientDataJSON: 'AQ', attestationObject: 'AgM', transports: ['internal'] },
    clientExtensionResults: { credProps: { rk: true } },
  });
  assert.deepEqual(credentialToJSON(fakeAssertion()), {
    id: 'cred-1',
    rawId: 'wcI',
    type: 'public-key',
    response: { clientDataJSON: 'AQ', authenticatorData: 'BA', signature: 'BQY', userHandle: 'Bw' },
    clientExtensionResults: {},
  });
});

test('createPasskey and getPasskey pass converted options to the browser', async () => {
  const seen = {};
  const creds = {
    create: async (arg) => ((seen.create = arg), fakeAttestation()),
    get: async (arg) => ((seen.get = arg), fakeAssertion()),
  };
  const a = await createPasskey(creds, creation);
  assert.ok(seen.create.publicKey.challenge instanceof ArrayBuffer);
  assert.equal(a.response.attestationObject, 'AgM');
  const g = await getPasskey(creds, { publicKey: { challenge: 'AAEC' } });
  assert.ok(seen.get.publicKey.challenge instanceof ArrayBuffer);
  assert.equal(g.response.signature, 'BQY');
  await assert.rejects(createPasskey({ create: async () => null }, creation), /no credential/);
});
