// Writes the browser-side cross-language vectors:
//   testdata/vectors/envelopes-js.json  envelopes sealed by ui/src/crypto (Go opens them)
//   testdata/vectors/keystore-js.json   a key store at the real 600,000 iterations
// Run from anywhere: node ui/scripts/gen-vectors.mjs
// The tests import buildVectors() and check the committed files are exactly
// what this produces, so they cannot drift from the code.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { b64urlEncode, bytesToHex } from '../src/crypto/bytes.js';
import { createKeyStore, MIN_ITERATIONS } from '../src/crypto/keystore.js';
import { encodeNpub, encodeNsec, generateSecretKey, getPublicKey } from '../src/crypto/keys.js';
import { rewrap, seal } from '../src/crypto/envelope.js';
import { testDRBG } from './drbg.mjs';

export const vectorsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../testdata/vectors');

const DRBG_DESCRIPTION =
  'stream = SHA-256(seed ‖ u32be(0)) ‖ SHA-256(seed ‖ u32be(1)) ‖ …; recipients\' keys from seed+"/keys", plaintext bytes from seed+"/plaintext", Seal\'s randomness from seed+"/seal"; for n ≥ 2, rewrap: the first recipient re-wraps for all but the last plus a key from seed+"/rewrap/keys", with the randomness of seed+"/rewrap"';

const TEXT =
  '{"text":"Voluntaria: la persona llamó desde el trabajo; habló de insomnio y deudas. Acordamos volver a hablar el jueves. ✔","fields":{"risk":"medium","language":"es"}}';

// Mirrors vectorSpecs in e2ee/vectors_test.go (same shape, own seeds and ids):
// every purpose has at least one vector, which test/vectors.test.mjs checks.
const SPECS = [
  { name: 'r1-empty', n: 1, pt: 'empty', ctx: { purpose: 'note', callId: 'js-call-0001', itemId: 'js-note-0001' } },
  { name: 'r1-1byte', n: 1, pt: '1byte', ctx: { purpose: 'draft', callId: '', itemId: 'js-draft-1' } },
  { name: 'r1-64k', n: 1, pt: '64k', ctx: { purpose: 'transcript', callId: 'js-call-0002', itemId: 'transcript' } },
  { name: 'r1-text-unicode-ids', n: 1, pt: 'text', ctx: { purpose: 'draft', callId: 'llamada/ü', itemId: 'borrador ✎' } },
  { name: 'r2-empty', n: 2, pt: 'empty', ctx: { purpose: 'note', callId: 'js-call-0003', itemId: 'js-note-0003' } },
  { name: 'r2-1byte', n: 2, pt: '1byte', ctx: { purpose: 'caller-number', callId: 'js-call-0004', itemId: 'caller' } },
  { name: 'r2-text', n: 2, pt: 'text', ctx: { purpose: 'note', callId: 'c0ffee00-0000-4000-8000-000000000001', itemId: 'js-note-0004' } },
  { name: 'r2-64k', n: 2, pt: '64k', ctx: { purpose: 'note-history', callId: 'js-call-0005', itemId: 'js-note-0005/rev-2' } },
  { name: 'r5-empty', n: 5, pt: 'empty', ctx: { purpose: 'ban', callId: '', itemId: 'number' } },
  { name: 'r5-1byte', n: 5, pt: '1byte', ctx: { purpose: 'volunteer-profile', callId: '', itemId: '' }, keyId: true },
  { name: 'r5-4k', n: 5, pt: '4k', ctx: { purpose: 'voicemail-transcript', callId: 'js-call-0007', itemId: 'voicemail' } },
  { name: 'r5-64k', n: 5, pt: '64k', ctx: { purpose: 'export', callId: '', itemId: 'js-export-1' } },
  { name: 'r2-4k-audio', n: 2, pt: '4k', ctx: { purpose: 'voicemail-audio', callId: 'js-call-0008', itemId: 'audio' } },
];

function plaintext(kind, seed) {
  const d = testDRBG(seed + '/plaintext');
  switch (kind) {
    case 'empty':
      return new Uint8Array(0);
    case '1byte':
      return d(1);
    case 'text':
      return new TextEncoder().encode(TEXT);
    case '4k':
      return d(4096);
    case '64k':
      return d(64 * 1024);
  }
  throw new Error(`unknown plaintext kind ${kind}`);
}

function keyVector(sk) {
  const pk = getPublicKey(sk);
  return { secretKey: bytesToHex(sk), nsec: encodeNsec(sk), publicKey: bytesToHex(pk), npub: encodeNpub(pk) };
}

// rewrapOf is how both generators make a vector's rewrap (e2ee/vectors_test.go
// has the twin): the first recipient re-wraps for every recipient but the
// last, then a new key.
export function rewrapOf(seed, env, ctx, opener, pks) {
  const added = generateSecretKey({ random: testDRBG(seed + '/rewrap/keys') });
  const to = [...pks.slice(0, -1), getPublicKey(added)];
  return { added, envelope: rewrap(env, ctx, opener, to, { random: testDRBG(seed + '/rewrap') }) };
}

export function buildEnvelopeVectors() {
  const vectors = SPECS.map((s) => {
    const seed = `llamenos-test-vectors/js/${s.name}`;
    const kd = testDRBG(seed + '/keys');
    const sks = Array.from({ length: s.n }, () => generateSecretKey({ random: kd }));
    const pks = sks.map(getPublicKey);
    const ctx = { ...s.ctx };
    if (s.keyId) ctx.itemId = bytesToHex(pks[0]);
    const pt = plaintext(s.pt, seed);
    const env = seal(pt, ctx, pks, { random: testDRBG(seed + '/seal') });
    const v = {
      name: s.name,
      seed,
      context: { purpose: ctx.purpose, callId: ctx.callId, itemId: ctx.itemId },
      recipients: sks.map(keyVector),
      plaintext: b64urlEncode(pt),
      envelope: b64urlEncode(env),
    };
    if (s.n >= 2) {
      const r = rewrapOf(seed, env, ctx, sks[0], pks);
      v.rewrap = { added: keyVector(r.added), envelope: b64urlEncode(r.envelope) };
    }
    return v;
  });
  return {
    comment: 'Envelopes sealed by the browser code (ui/src/crypto). The Go tests open them and re-seal them byte for byte. Format: docs/crypto.md.',
    generator: 'node ui/scripts/gen-vectors.mjs',
    drbg: DRBG_DESCRIPTION,
    vectors,
  };
}

export const KEYSTORE_PASSPHRASE = 'contraseña de prueba 7';

export async function buildKeyStoreVector() {
  const d = testDRBG('llamenos-test-vectors/js/keystore');
  const sk = generateSecretKey({ random: d });
  const store = await createKeyStore(sk, KEYSTORE_PASSPHRASE, { iterations: MIN_ITERATIONS, random: d });
  return {
    comment: 'A key store at the production iteration count. Opening it with passphrase must give secretKey; the public key is not in the store.',
    generator: 'node ui/scripts/gen-vectors.mjs',
    passphrase: KEYSTORE_PASSPHRASE,
    secretKey: bytesToHex(sk),
    store,
  };
}

export function serialize(obj) {
  return JSON.stringify(obj, null, 2) + '\n';
}

export async function buildVectors() {
  return {
    'envelopes-js.json': serialize(buildEnvelopeVectors()),
    'keystore-js.json': serialize(await buildKeyStoreVector()),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const files = await buildVectors();
  for (const [name, text] of Object.entries(files)) {
    await writeFile(path.join(vectorsDir, name), text);
    console.log(`wrote ${path.join(vectorsDir, name)}`);
  }
}
