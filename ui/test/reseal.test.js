import assert from 'node:assert/strict';
import { test } from 'node:test';
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
