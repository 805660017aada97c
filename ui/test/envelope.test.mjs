import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CryptoError,
  MAX_CONTEXT_FIELD_SIZE,
  MAX_RECIPIENTS,
  PURPOSE,
  PURPOSES,
  generateSecretKey,
  getPublicKey,
  open,
  parseEnvelope,
  rewrap,
  seal,
} from '../src/crypto/index.js';

const CTX = { purpose: 'note', callId: 'call-1', itemId: 'note-1' };
const ENTRY = 137;
const PREFIX = 2;

function keys(n) {
  const sks = Array.from({ length: n }, () => generateSecretKey());
  return { sks, pks: sks.map(getPublicKey) };
}

const enc = (s) => new TextEncoder().encode(s);

/** Returns null if open threw a CryptoError with an allowed code, else a description. */
function rejection(env, ctx, sk, allowed) {
  let pt;
  try {
    pt = open(env, ctx, sk);
  } catch (err) {
    if (!(err instanceof CryptoError)) return `threw a non-CryptoError: ${err}`;
    return allowed.includes(err.code) ? null : `code ${err.code}, want one of ${allowed}`;
  }
  return `accepted, plaintext ${JSON.stringify(new TextDecoder().decode(pt))}`;
}

function assertRejected(env, ctx, sk, ...allowed) {
  const r = rejection(env, ctx, sk, allowed);
  assert.equal(r, null);
}

describe('seal/open round trip', () => {
  for (const n of [1, 2, 5]) {
    for (const size of [0, 1, 4096, 65536]) {
      test(`${n} recipients, ${size} bytes`, () => {
        const { sks, pks } = keys(n);
        const pt = globalThis.crypto.getRandomValues(new Uint8Array(size));
        const env = seal(pt, CTX, pks);
        assert.equal(env.length, PREFIX + n * ENTRY + 24 + size + 16);
        const h = parseEnvelope(env);
        assert.equal(h.version, 2);
        assert.equal(h.plaintextSize, size);
        assert.equal(h.size, env.length);
        assert.deepEqual(h.recipients, pks);
        for (const [i, sk] of sks.entries()) {
          assert.ok(h.includes(pks[i]));
          assert.deepEqual(open(env, CTX, sk), pt);
        }
      });
    }
  }
  test(`${MAX_RECIPIENTS} recipients`, () => {
    const { sks, pks } = keys(MAX_RECIPIENTS);
    const env = seal(enc('x'), CTX, pks);
    assert.deepEqual(open(env, CTX, sks[MAX_RECIPIENTS - 1]), enc('x'));
  });
  test('seal is randomised', () => {
    const { pks } = keys(1);
    assert.notDeepEqual(seal(enc('x'), CTX, pks), seal(enc('x'), CTX, pks));
  });
  test('every documented purpose works', () => {
    const { sks, pks } = keys(1);
    for (const purpose of PURPOSES) {
      const ctx = { purpose, callId: 'c', itemId: 'i' };
      assert.deepEqual(open(seal(enc(purpose), ctx, pks), ctx, sks[0]), enc(purpose));
    }
  });
});

describe('purposes are spelled once', () => {
  test('PURPOSES is PURPOSE, every label once', () => {
    assert.deepEqual(PURPOSES, Object.values(PURPOSE));
    assert.equal(new Set(PURPOSES).size, PURPOSES.length);
    assert.ok(Object.isFrozen(PURPOSE) && Object.isFrozen(PURPOSES));
  });
  // Outside src/crypto/envelope.js, a purpose is always PURPOSE.X: a label
  // typed as a string (purpose: 'ban', FOO_PURPOSE = 'note') could drift from
  // the list the vectors are checked against.
  test('no module in ui/src writes a purpose label as a string', () => {
    const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');
    const envelope = path.join(src, 'crypto', 'envelope.js');
    const found = [];
    for (const rel of readdirSync(src, { recursive: true })) {
      const file = path.join(src, rel);
      if (!file.endsWith('.js') || file === envelope) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:purpose\s*:\s*|_PURPOSE\s*=\s*)(['"`])([^'"`]*)\1/gi)) {
        if (PURPOSES.includes(m[2])) found.push(`${path.relative(src, file)}: ${m[0]}`);
      }
    }
    assert.deepEqual(found, []);
  });
});

describe('tampering', () => {
  // Each position: the low bit flipped, opened by both recipients, and the
  // whole byte inverted, opened by one of them in turn (noble's ECDH is slow
  // enough that all combinations would dominate the suite's run time).
  test('every single flipped byte is rejected by the recipients it concerns', () => {
    const { sks, pks } = keys(2);
    const env = seal(enc('a short note'), CTX, pks);
    const failures = [];
    for (let i = 0; i < env.length; i++) {
      // A byte of recipient j's entry must break recipient j; v2 leaves the
      // others' entries out of the content AAD, so they still open.
      const j = Math.floor((i - PREFIX) / ENTRY);
      const concerned = (list) => (i >= PREFIX && j < sks.length ? [sks[j]] : list);
      for (const [mask, who] of [
        [0x01, concerned(sks)],
        [0xff, concerned([sks[i % 2]])],
      ]) {
        const mod = Uint8Array.from(env);
        mod[i] ^= mask;
        for (const [r, sk] of who.entries()) {
          const why = rejection(mod, CTX, sk, ['UNKNOWN_VERSION', 'MALFORMED', 'NOT_RECIPIENT', 'AUTH_FAILED']);
          if (why) failures.push(`byte ${i} ^ ${mask}, recipient ${r}: ${why}`);
        }
      }
    }
    assert.deepEqual(failures, []);
    // A change in the other recipient's entry breaks that recipient only.
    const mod = Uint8Array.from(env);
    mod[PREFIX + ENTRY + 32 + 33] ^= 1;
    assertRejected(mod, CTX, sks[1], 'AUTH_FAILED');
    assert.deepEqual(open(mod, CTX, sks[0]), enc('a short note'));
    // The content AAD binds the version: v2 does not pass for v1.
    const v1 = Uint8Array.from(env);
    v1[0] = 1;
    assertRejected(v1, CTX, sks[0], 'AUTH_FAILED');
  });

  test('every truncation length, and one extra byte, is rejected', () => {
    const { sks, pks } = keys(2);
    const env = seal(enc('a short note'), CTX, pks);
    const failures = [];
    for (let l = 0; l < env.length; l++) {
      const why = rejection(env.subarray(0, l), CTX, sks[1], ['MALFORMED', 'AUTH_FAILED']);
      if (why) failures.push(`length ${l}: ${why}`);
    }
    assert.deepEqual(failures, []);
    const longer = new Uint8Array(env.length + 1);
    longer.set(env);
    assertRejected(longer, CTX, sks[1], 'AUTH_FAILED');
  });

  for (const [name, ctx] of [
    ['other call id', { ...CTX, callId: 'call-2' }],
    ['other item id', { ...CTX, itemId: 'note-2' }],
    ['other purpose', { ...CTX, purpose: 'draft' }],
    ['fields run together', { ...CTX, callId: 'call-1note-1', itemId: '' }],
    ['missing call id', { purpose: 'note', itemId: 'note-1' }],
  ]) {
    test(`wrong context: ${name}`, () => {
      const { sks, pks } = keys(2);
      const env = seal(enc('bound'), CTX, pks);
      for (const sk of sks) assertRejected(env, ctx, sk, 'AUTH_FAILED');
    });
  }

  test('a non-recipient key', () => {
    const { pks } = keys(2);
    const env = seal(enc('secret'), CTX, pks);
    assertRejected(env, CTX, generateSecretKey(), 'NOT_RECIPIENT');
    assertRejected(env, CTX, new Uint8Array(32), 'INVALID_KEY');
  });

  test('a recipient key rewritten to an attacker key', () => {
    const { pks } = keys(2);
    const attacker = generateSecretKey();
    const env = seal(enc('secret'), CTX, pks);
    env.set(getPublicKey(attacker), PREFIX);
    assertRejected(env, CTX, attacker, 'AUTH_FAILED');
  });

  test('unknown versions', () => {
    const { sks, pks } = keys(1);
    const env = seal(enc('x'), CTX, pks);
    for (const v of [0x00, 0x03, 0x7f, 0xff]) {
      const mod = Uint8Array.from(env);
      mod[0] = v;
      assertRejected(mod, CTX, sks[0], 'UNKNOWN_VERSION');
    }
  });
});

describe('parseEnvelope', () => {
  const { pks } = keys(2);
  const env = seal(new Uint8Array(0), CTX, pks);
  const variant = (f) => {
    const m = Uint8Array.from(env);
    f(m);
    return m;
  };
  for (const [name, bytes, code] of [
    ['empty', new Uint8Array(0), 'MALFORMED'],
    ['version only', Uint8Array.of(1), 'MALFORMED'],
    ['zero recipients', variant((m) => (m[1] = 0)), 'MALFORMED'],
    ['count beyond data', variant((m) => (m[1] = 3)), 'MALFORMED'],
    ['duplicate recipient', variant((m) => m.set(env.subarray(PREFIX, PREFIX + 32), PREFIX + ENTRY)), 'MALFORMED'],
    ['recipient not a point', variant((m) => m.fill(0xff, PREFIX, PREFIX + 32)), 'MALFORMED'],
    ['ephemeral not compressed', variant((m) => (m[PREFIX + 32] = 0x04)), 'MALFORMED'],
    ['version 3', variant((m) => (m[0] = 3)), 'UNKNOWN_VERSION'],
  ]) {
    test(name, () => assert.throws(() => parseEnvelope(bytes), { code }));
  }
  test('not bytes', () => assert.throws(() => parseEnvelope('AQ'), { code: 'MALFORMED' }));
});

describe('seal refuses', () => {
  const { pks } = keys(2);
  const notPoint = new Uint8Array(32).fill(0xff);
  for (const [name, ctx, recipients, pt, code] of [
    ['no recipients', CTX, [], new Uint8Array(0), 'INVALID_KEY'],
    ['a duplicate recipient', CTX, [pks[0], pks[1], pks[0]], new Uint8Array(0), 'DUPLICATE_RECIPIENT'],
    ['a recipient that is not a point', CTX, [pks[0], notPoint], new Uint8Array(0), 'INVALID_KEY'],
    ['a short key', CTX, [pks[0].subarray(1)], new Uint8Array(0), 'INVALID_KEY'],
    ['too many recipients', CTX, Array(MAX_RECIPIENTS + 1).fill(pks[0]), new Uint8Array(0), 'TOO_LARGE'],
    ['an unknown purpose', { purpose: 'nostr' }, pks, new Uint8Array(0), 'UNKNOWN_PURPOSE'],
    ['no context', undefined, pks, new Uint8Array(0), 'UNKNOWN_PURPOSE'],
    ['a long call id', { ...CTX, callId: 'x'.repeat(MAX_CONTEXT_FIELD_SIZE + 1) }, pks, new Uint8Array(0), 'INVALID_CONTEXT'],
    ['a lone surrogate', { ...CTX, itemId: '\ud800' }, pks, new Uint8Array(0), 'INVALID_CONTEXT'],
    ['a numeric id', { ...CTX, itemId: 7 }, pks, new Uint8Array(0), 'INVALID_CONTEXT'],
    ['a string plaintext', CTX, pks, 'text', 'MALFORMED'],
  ]) {
    test(name, () => assert.throws(() => seal(pt, ctx, recipients), { code }));
  }
  test('open refuses an unknown purpose', () => {
    const k = keys(1);
    const env = seal(new Uint8Array(0), CTX, k.pks);
    assert.throws(() => open(env, { purpose: 'notes' }, k.sks[0]), { code: 'UNKNOWN_PURPOSE' });
  });
});

describe('rewrap', () => {
  test('adds and drops wraps, keeps the content and the kept wraps byte for byte', () => {
    const { sks, pks } = keys(4);
    const env = seal(enc('a note to keep'), CTX, pks.slice(0, 3));
    const next = rewrap(env, CTX, sks[0], [pks[0], pks[1], pks[3]]);
    assert.deepEqual(next.subarray(PREFIX + 3 * ENTRY), env.subarray(PREFIX + 3 * ENTRY), 'content nonce and ciphertext');
    assert.deepEqual(next.subarray(PREFIX, PREFIX + 2 * ENTRY), env.subarray(PREFIX, PREFIX + 2 * ENTRY), 'kept wraps');
    for (const i of [0, 1, 3]) assert.deepEqual(open(next, CTX, sks[i]), enc('a note to keep'));
    assertRejected(next, CTX, sks[2], 'NOT_RECIPIENT');
  });

  test('refuses a v1 envelope, a non-recipient, a changed content and another context', () => {
    const { sks, pks } = keys(3);
    const env = seal(enc('x'), CTX, pks.slice(0, 2));
    const v1 = Uint8Array.from(env);
    v1[0] = 1;
    assert.throws(() => rewrap(v1, CTX, sks[0], pks), { code: 'UNKNOWN_VERSION' });
    assert.throws(() => rewrap(env, CTX, sks[2], pks), { code: 'NOT_RECIPIENT' });
    const bad = Uint8Array.from(env);
    bad[bad.length - 1] ^= 1;
    assert.throws(() => rewrap(bad, CTX, sks[0], pks), { code: 'AUTH_FAILED' });
    assert.throws(() => rewrap(env, { ...CTX, itemId: 'note-2' }, sks[0], pks), { code: 'AUTH_FAILED' });
    assert.throws(() => rewrap(env, CTX, sks[0], [pks[0], pks[0]]), { code: 'DUPLICATE_RECIPIENT' });
  });
});
