// The app's use of the crypto module (src/keys.js): profile envelopes, the
// login signature, the key store with its attempt limit, and recovery
// backups. Real PBKDF2 at the production work factor runs here (WebCrypto).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePublicKeyHex, verifyAuth, b64urlDecode } from '../src/crypto/index.js';
import {
  createBackup,
  buildKeyStore,
  hasKeyStore,
  keyStoreStatus,
  newIdentity,
  npub,
  openProfile,
  removeKeyStore,
  restoreBackup,
  sealProfile,
  signAuth,
  unlockKeyStore,
  writeKeyStore,
  BackupError,
  changePassphrase,
  openExport,
  sealExport,
} from '../src/keys.js';
import { generateRecoveryKey } from '../src/recovery.js';
import { MemoryStorage } from './helpers/fakes.js';

test('identities are fresh secp256k1 keys with npub names', () => {
  const a = newIdentity();
  const b = newIdentity();
  assert.match(a.pubkey, /^[0-9a-f]{64}$/);
  assert.notEqual(a.pubkey, b.pubkey);
  assert.match(npub(a.pubkey), /^npub1[02-9ac-hj-np-z]{58}$/);
  assert.equal(npub('zz'), '');
});

test('a profile opens for its owner and the admins only, and only as that person', () => {
  const vol = newIdentity();
  const admin1 = newIdentity();
  const admin2 = newIdentity();
  const other = newIdentity();
  const env = sealProfile({ name: 'Ana Pérez', phone: '+34600000000' }, vol.pubkey, [admin1.pubkey, admin2.pubkey, vol.pubkey]);
  assert.match(env, /^[A-Za-z0-9_-]+$/);
  for (const who of [vol, admin1, admin2]) {
    assert.deepEqual(openProfile(env, vol.pubkey, who.secretKey), { name: 'Ana Pérez', phone: '+34600000000' });
  }
  assert.equal(openProfile(env, vol.pubkey, other.secretKey), null, 'not a recipient');
  assert.equal(openProfile(env, other.pubkey, admin1.secretKey), null, 'moved to another person');
  assert.equal(openProfile('AAAA', vol.pubkey, vol.secretKey), null, 'garbage');
  assert.equal(openProfile('', vol.pubkey, vol.secretKey), null);
  assert.equal(openProfile(env, vol.pubkey, null), null);
  // The name is not visible in the envelope.
  assert.ok(!Buffer.from(b64urlDecode(env)).toString('latin1').includes('Ana'));
});

test('signAuth signs the challenge for this purpose and origin', () => {
  const id = newIdentity();
  const challenge = Buffer.from(new Uint8Array(32).fill(3)).toString('base64url');
  const { pubkey, signature } = signAuth('login', 'http://localhost:8080', challenge, id.secretKey);
  assert.equal(pubkey, id.pubkey);
  const pk = parsePublicKeyHex(pubkey);
  const ch = b64urlDecode(challenge);
  const sig = b64urlDecode(signature);
  assert.equal(sig.length, 64);
  assert.equal(verifyAuth(pk, 'login', 'http://localhost:8080', ch, sig), true);
  assert.equal(verifyAuth(pk, 'login', 'http://evil.example', ch, sig), false);
  assert.equal(verifyAuth(pk, 'setup', 'http://localhost:8080', ch, sig), false);
});

test('key store: save, status, unlock, wrong passphrase counted, remove', async () => {
  const st = new MemoryStorage();
  const id = newIdentity();
  assert.equal(hasKeyStore(st), false);
  assert.deepEqual(keyStoreStatus(st), { present: false });
  assert.deepEqual(await unlockKeyStore(st, 'whatever1'), { ok: false, reason: 'missing' });
  writeKeyStore(st, await buildKeyStore(id.secretKey, 'correct horse'));
  assert.equal(hasKeyStore(st), true);
  assert.ok(!JSON.stringify([...st.map]).includes(id.pubkey), 'the public key is not stored');
  const bad = await unlockKeyStore(st, 'wrong horse');
  assert.equal(bad.ok, false);
  assert.equal(bad.reason, 'wrong');
  assert.equal(bad.attemptsLeft, 9);
  assert.equal(keyStoreStatus(st).attemptsLeft, 9);
  const good = await unlockKeyStore(st, 'correct horse');
  assert.equal(good.ok, true);
  assert.equal(good.pubkey, id.pubkey);
  assert.deepEqual(good.secretKey, id.secretKey);
  assert.equal(keyStoreStatus(st).attemptsLeft, 10, 'success resets the counter');
  removeKeyStore(st);
  assert.equal(hasKeyStore(st), false);
});

test('key store: a recent run of failures makes the next try wait; the last one wipes', async () => {
  const st = new MemoryStorage();
  const id = newIdentity();
  writeKeyStore(st, await buildKeyStore(id.secretKey, 'correct horse'));
  st.setItem('llamenos.unlock-attempts', JSON.stringify({ failures: 5, at: Date.now() }));
  const wait = await unlockKeyStore(st, 'correct horse');
  assert.equal(wait.reason, 'wait');
  assert.ok(wait.retryAfterMs > 0 && wait.retryAfterMs <= 30000);
  assert.equal(keyStoreStatus(st).retryAfterMs > 0, true);
  st.setItem('llamenos.unlock-attempts', JSON.stringify({ failures: 9, at: 0 }));
  assert.deepEqual(await unlockKeyStore(st, 'wrong horse'), { ok: false, reason: 'wiped' });
  assert.equal(hasKeyStore(st), false);
});

test('key store: a damaged store is reported as such, not counted as a guess', async () => {
  const st = new MemoryStorage({ 'llamenos.keystore': '{"v":1,"broken":true}' });
  assert.deepEqual(await unlockKeyStore(st, 'correct horse'), { ok: false, reason: 'corrupt' });
  assert.equal(keyStoreStatus(st).attemptsLeft, 10);
});

test('recovery backup round trip, and each way it can fail', async () => {
  const id = newIdentity();
  const b = await createBackup(id.secretKey, new Date('2026-03-04T05:06:07Z'));
  assert.match(b.recoveryKey, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$/);
  assert.equal(b.filename, 'llamenos-key-backup-2026-03-04.json');
  const doc = JSON.parse(b.file);
  assert.deepEqual(Object.keys(doc).sort(), ['createdAt', 'key', 'type', 'version']);
  assert.equal(doc.createdAt, '2026-03-04');
  assert.ok(!b.file.includes(id.pubkey) && !b.file.includes(npub(id.pubkey)), 'the file does not name its owner');

  const typed = b.recoveryKey.toLowerCase().replace(/-/g, ' ');
  const r = await restoreBackup(b.file, typed);
  assert.equal(r.pubkey, id.pubkey);
  assert.deepEqual(r.secretKey, id.secretKey);

  const reason = async (file, key) => {
    try {
      await restoreBackup(file, key);
    } catch (err) {
      assert.ok(err instanceof BackupError);
      return err.reason;
    }
    return 'restored';
  };
  assert.equal(await reason(b.file, generateRecoveryKey()), 'wrongKey');
  assert.equal(await reason(b.file, b.recoveryKey.slice(0, -1) + (b.recoveryKey.endsWith('A') ? 'B' : 'A')), 'recoveryKey');
  assert.equal(await reason('not json', b.recoveryKey), 'file');
  assert.equal(await reason('{"type":"something-else","version":1,"key":{}}', b.recoveryKey), 'file');
  const damaged = JSON.stringify({ ...doc, key: { ...doc.key, ct: 'AAAA' } });
  assert.equal(await reason(damaged, b.recoveryKey), 'file');
});

test('changing the passphrase: the current one is counted like a login, and must open this account', async () => {
  const storage = new MemoryStorage();
  const me = newIdentity();
  writeKeyStore(storage, await buildKeyStore(me.secretKey, 'old passphrase here'));
  const wrong = await changePassphrase(storage, 'not it at all', 'new passphrase here', me.pubkey);
  assert.equal(wrong.ok, false);
  assert.equal(wrong.reason, 'wrong');
  assert.equal(wrong.attemptsLeft, 9);
  const other = await changePassphrase(storage, 'old passphrase here', 'new passphrase here', newIdentity().pubkey);
  assert.deepEqual(other, { ok: false, reason: 'otherAccount' });
  assert.equal((await unlockKeyStore(storage, 'old passphrase here')).ok, true, 'a refused change keeps the old passphrase');
  assert.deepEqual(await changePassphrase(storage, 'old passphrase here', 'new passphrase here', me.pubkey), { ok: true });
  assert.equal((await unlockKeyStore(storage, 'old passphrase here')).reason, 'wrong');
  const r = await unlockKeyStore(storage, 'new passphrase here');
  assert.equal(r.pubkey, me.pubkey);
});

test('a sealed export opens for its owner only, and not once altered', () => {
  const me = newIdentity();
  const file = sealExport('{"type":"llamenos-notes-export","notes":[]}', me.pubkey);
  assert.deepEqual(openExport(file, me.secretKey), { ok: true, text: '{"type":"llamenos-notes-export","notes":[]}' });
  assert.equal(openExport(file, newIdentity().secretKey).reason, 'notRecipient');
  const doc = JSON.parse(file);
  doc.envelope = doc.envelope.slice(0, -2) + (doc.envelope.at(-2) === 'A' ? 'B' : 'A') + doc.envelope.at(-1);
  assert.equal(openExport(JSON.stringify(doc), me.secretKey).reason, 'integrity');
  assert.equal(openExport('{"type":"llamenos-key-backup"}', me.secretKey).reason, 'file');
  assert.equal(openExport('not json', me.secretKey).reason, 'file');
});
