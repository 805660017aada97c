import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { b64urlDecode, hexToBytes } from '../src/crypto/index.js';
import { envelopeDigest, envelopeRecipients, newIdentity, openText, sealText } from '../src/keys.js';
import { RESEAL_KEY, runReseal, wantedRecipients } from '../src/reseal.js';

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), map: m };
}

// fakeServer keeps envelopes as the daemon does and lists those not sealed
// to exactly their owners (already recipients) and the admins.
function fakeServer(items, admins, { failAfterBatches = Infinity } = {}) {
  let batches = 0;
  const needs = (it) => {
    const cur = envelopeRecipients(it.envelope);
    const want = wantedRecipients(cur, it.owners, admins);
    return !(cur.length === want.length && cur.every((k) => want.includes(k)));
  };
  return {
    items,
    posted: [],
    async resealPage(after, limit) {
      let i = after ? items.findIndex((it) => it.kind + ':' + it.id === after) + 1 : 0;
      const total = items.filter(needs).length;
      const out = [];
      for (; i < items.length && out.length < limit; i++) if (needs(items[i])) out.push(items[i]);
      return { total, items: out, next: '' };
    },
    async reseal(batch) {
      if (batches++ >= failAfterBatches) throw Object.assign(new Error('connection lost'), { status: 0 });
      for (const b of batch) {
        const it = items.find((x) => x.kind === b.kind && x.id === b.id);
        assert.equal(b.prev, envelopeDigest(it.envelope), 'prev names the replaced envelope');
        it.envelope = b.envelope;
        this.posted.push(b.id);
      }
      return { resealed: batch.length };
    },
  };
}

const ctx = (id) => ({ purpose: 'note', callId: '00000000-0000-7000-8000-000000000001', itemId: id });

test('re-sealing adds the new admin, keeps owners, skips what it cannot open, and resumes', async () => {
  const a = newIdentity();
  const b = newIdentity();
  const author = newIdentity();
  const stranger = newIdentity();
  const items = [];
  for (let i = 0; i < 30; i++) {
    const id = `n${String(i).padStart(2, '0')}`;
    // One in ten was sealed without the first admin: it cannot open it.
    const to = i % 10 === 3 ? [author.pubkey, stranger.pubkey] : [author.pubkey, a.pubkey];
    items.push({ kind: 'note', id, context: ctx(id), owners: [author.pubkey], envelope: sealText(`text ${id}`, ctx(id), to) });
  }
  const admins = [a.pubkey, b.pubkey];
  const storage = memoryStorage();
  const server = fakeServer(items, admins, { failAfterBatches: 1 });
  await assert.rejects(runReseal({ api: server, secretKey: a.secretKey, admins, head: 'h1', storage }), /connection lost/);
  const stopped = JSON.parse(storage.getItem(RESEAL_KEY));
  assert.ok(stopped.done > 0 && stopped.done < 27, `stopped part way: ${JSON.stringify(stopped)}`);

  // A reload: the same run goes on from the server's list and the cursor.
  const again = fakeServer(items, admins);
  const seen = [];
  const out = await runReseal({ api: again, secretKey: a.secretKey, admins, head: 'h1', storage, onProgress: (p) => seen.push(p) });
  assert.equal(out.done, 27);
  assert.equal(out.skipped, 3);
  assert.equal(new Set([...server.posted, ...again.posted]).size, 27, 'nothing sealed twice');
  assert.ok(seen.every((p) => p.done + p.skipped <= p.total), 'progress never passes the total');
  for (const it of items) {
    const rec = envelopeRecipients(it.envelope);
    if (rec.includes(stranger.pubkey)) continue; // not ours to open
    assert.deepEqual(rec, [author.pubkey, a.pubkey, b.pubkey]);
    assert.equal(openText(it.envelope, it.context, b.secretKey).text, `text ${it.id}`);
  }
});

test('removing an admin drops their wrap and never adds an owner the envelope did not name', async () => {
  const a = newIdentity();
  const gone = newIdentity();
  const author = newIdentity();
  const planted = newIdentity();
  const env = sealText('x', ctx('n1'), [author.pubkey, a.pubkey, gone.pubkey]);
  const items = [{ kind: 'note', id: 'n1', context: ctx('n1'), owners: [author.pubkey, planted.pubkey], envelope: env }];
  const server = fakeServer(items, [a.pubkey]);
  await runReseal({ api: server, secretKey: a.secretKey, admins: [a.pubkey], head: 'h2', storage: memoryStorage() });
  assert.deepEqual(envelopeRecipients(items[0].envelope), [author.pubkey, a.pubkey]);
  assert.equal(openText(items[0].envelope, ctx('n1'), gone.secretKey).reason, 'notRecipient');
});

test('a v2 envelope is re-wrapped with its content untouched; a v1 one is sealed again as v2', async () => {
  const a = newIdentity();
  const b = newIdentity();
  const gone = newIdentity();
  const author = newIdentity();
  const v2 = sealText('kept bytes', ctx('v2'), [author.pubkey, a.pubkey, gone.pubkey]);
  // A v1 envelope as sealed before v2: the frozen vectors have them.
  const vectors = JSON.parse(readFileSync(new URL('../../testdata/vectors/envelopes-v1-js.json', import.meta.url), 'utf8'));
  const v = vectors.vectors.find((x) => x.recipients.length === 1 && x.context.purpose === 'note');
  const v1Key = hexToBytes(v.recipients[0].secretKey);
  const items = [
    { kind: 'note', id: 'v2', context: ctx('v2'), owners: [author.pubkey], envelope: v2 },
    { kind: 'note', id: 'v1', context: v.context, owners: [], envelope: v.envelope },
  ];
  const body = (e, n) => b64urlDecode(e).subarray(2 + 137 * n);
  const entry = (e, i) => b64urlDecode(e).subarray(2 + 137 * i, 2 + 137 * (i + 1));
  const before = items.map((it) => it.envelope);

  await runReseal({ api: fakeServer(items, [a.pubkey, b.pubkey]), secretKey: a.secretKey, admins: [a.pubkey, b.pubkey], head: 'h', storage: memoryStorage() });
  assert.deepEqual(envelopeRecipients(items[0].envelope), [author.pubkey, a.pubkey, b.pubkey]);
  assert.deepEqual(body(items[0].envelope, 3), body(before[0], 3), 'content nonce and ciphertext byte for byte');
  assert.deepEqual(entry(items[0].envelope, 0), entry(before[0], 0), "the author's wrap is kept as it was");
  assert.deepEqual(entry(items[0].envelope, 1), entry(before[0], 1), "the admin's wrap is kept as it was");
  assert.equal(openText(items[0].envelope, items[0].context, b.secretKey).text, 'kept bytes');
  assert.equal(openText(items[0].envelope, items[0].context, gone.secretKey).reason, 'notRecipient');

  // The v1 envelope's only recipient is not an admin here: a (who cannot
  // open it) steps past it, and its own recipient, made admin, converts it.
  const v1Pub = envelopeRecipients(v.envelope)[0];
  await runReseal({ api: fakeServer(items, [v1Pub, a.pubkey]), secretKey: v1Key, admins: [v1Pub, a.pubkey], head: 'h2', storage: memoryStorage() });
  assert.equal(b64urlDecode(items[1].envelope)[0], 2, 'sealed again as v2');
  assert.deepEqual(envelopeRecipients(items[1].envelope), [v1Pub, a.pubkey]);
  assert.deepEqual(openText(items[1].envelope, items[1].context, a.secretKey).ok, true);
});
