import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADMIN_ADD,
  ADMIN_REMOVE,
  ZERO_DIGEST,
  adminStatementDigest,
  bytesToHex,
  generateSecretKey,
  getPublicKey,
  publicKeyHex,
  signAdminStatement,
  verifyAdminChain,
} from '../src/crypto/index.js';

const G = '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';

test('the statement digest is the Go one, byte for byte', () => {
  // e2ee/adminset_test.go TestAdminStatementDigest pins the same value.
  const prev = bytesToHex(Uint8Array.from({ length: 32 }, (_, i) => i));
  const d = adminStatementDigest({ op: 'add', key: G, by: G, prev });
  assert.equal(bytesToHex(d), '607eb8e986908ed8a0b1d2820de2b60d2004248563fa6086d382d2c641198590');
});

function person() {
  const sk = generateSecretKey();
  return { sk, pk: publicKeyHex(getPublicKey(sk)) };
}

function extend(chain, signer, op, key) {
  const v = verifyAdminChain(chain);
  assert.equal(v.error, null);
  return [...chain, signAdminStatement(signer.sk, { op, key: key.pk, prev: v.head })];
}

test('a chain verifies and says who the admins are', () => {
  const [a, b, c] = [person(), person(), person()];
  let chain = extend([], a, ADMIN_ADD, a);
  chain = extend(chain, a, ADMIN_ADD, b);
  chain = extend(chain, b, ADMIN_ADD, c);
  chain = extend(chain, c, ADMIN_REMOVE, a);
  const v = verifyAdminChain(chain);
  assert.equal(v.error, null);
  assert.deepEqual(v.admins, [b.pk, c.pk]);
  assert.equal(v.heads.length, 4);
  assert.notEqual(v.head, ZERO_DIGEST);

  const bad = (name, ch, prefix) => {
    const r = verifyAdminChain(ch);
    assert.ok(r.error, `${name}: verified`);
    assert.equal(r.heads.length, prefix, `${name}: verified prefix`);
  };
  const intruder = person();
  const copy = () => chain.map((s) => ({ ...s }));
  let ch = copy();
  ch[2].sig = ch[2].sig.slice(0, 10) + (ch[2].sig[10] === '0' ? '1' : '0') + ch[2].sig.slice(11);
  bad('flipped signature', ch, 2);
  ch = copy();
  ch[1].key = intruder.pk;
  bad('subject swapped after signing', ch, 1);
  bad('a statement dropped', [chain[0], ...chain.slice(2)], 1);
  bad('signed by a removed admin', [...chain, signAdminStatement(a.sk, { op: ADMIN_ADD, key: intruder.pk, prev: verifyAdminChain(chain).head })], 4);
  bad('signed by a stranger', [...chain, signAdminStatement(intruder.sk, { op: ADMIN_ADD, key: intruder.pk, prev: verifyAdminChain(chain).head })], 4);
  bad('first statement by someone else', [signAdminStatement(intruder.sk, { op: ADMIN_ADD, key: a.pk, prev: ZERO_DIGEST })], 0);
  bad('uppercase hex', [{ ...chain[0], key: chain[0].key.toUpperCase() }], 0);
});
