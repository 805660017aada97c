// Re-sealing: when the admin set changes, an admin's browser takes every
// envelope that is not sealed to exactly who should read it now (its owners
// and the vouched admins) and re-wraps it: the content key, opened from its
// own wrap, is wrapped for each new recipient, the wraps of those who no
// longer should read it are dropped, and the content is not touched. A v1
// envelope is sealed again as v2 instead, once. The server lists the
// envelopes and takes the new ones; it never sees a plaintext or a content
// key. Progress is the server's list itself (what is fixed leaves
// it), plus a cursor past envelopes this key cannot open, kept in
// localStorage so a reload resumes where it stopped.
import { envelopeDigest, envelopeRecipients, resealEnvelope } from './keys.js';
import { PREFIX } from './storage.js';

export const RESEAL_KEY = PREFIX + 'reseal';
const PAGE = 25;
// A batch stays well under the server's body limit even with large
// envelopes (voicemails): it is sent when it reaches this many bytes.
const BATCH_BYTES = 4 << 20;
// Bounds the loop: a hotline with more envelopes than this re-seals the
// rest on the next start.
const MAX_PAGES = 20000;

function readState(storage, head) {
  try {
    const s = JSON.parse(storage.getItem(RESEAL_KEY) || 'null');
    if (s && s.head === head && typeof s.after === 'string' && Number.isInteger(s.done) && Number.isInteger(s.skipped)) return s;
  } catch {
    // Start over.
  }
  return { head, after: '', done: 0, skipped: 0 };
}

// wanted: the owners the envelope is already sealed to, then the admins.
export function wantedRecipients(current, owners, admins) {
  const out = (owners || []).filter((o) => current.includes(o));
  for (const a of admins) if (!out.includes(a)) out.push(a);
  return out;
}

function same(a, b) {
  return a.length === b.length && a.every((x) => b.includes(x));
}

// runReseal re-seals everything it can open. admins: the vouched admins
// (adminset.js); head: the admin set's head, which names the run (a new
// change of the set starts a new one). onProgress({done, skipped, total}).
// → the final progress.
export async function runReseal({ api, secretKey, admins, head, storage = globalThis.localStorage, onProgress = () => {} }) {
  const st = readState(storage, head);
  const save = () => storage.setItem(RESEAL_KEY, JSON.stringify(st));
  let total = 0;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await api.resealPage(st.after, PAGE);
    total = st.done + page.total;
    onProgress({ done: st.done, skipped: st.skipped, total });
    const items = page.items || [];
    if (items.length === 0) break;
    let batch = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      try {
        await api.reseal(batch);
        st.done += batch.length;
      } catch (err) {
        // Someone edited one of them meanwhile: the next page has it fresh.
        if (err.status !== 409) throw err;
      }
      batch = [];
      bytes = 0;
      save();
      onProgress({ done: st.done, skipped: st.skipped, total });
    };
    let progressed = false;
    for (const it of items) {
      const current = envelopeRecipients(it.envelope) || [];
      const to = wantedRecipients(current, it.owners, admins);
      const r = same(current, to) ? { ok: false } : resealEnvelope(it.envelope, it.context, secretKey, to);
      if (!r.ok && r.reason === 'locked') throw new Error('locked');
      if (!r.ok) {
        // Not ours to open (sealed before this admin was vouched for and
        // not yet re-sealed by one who can), or the server wants what this
        // browser does not vouch for: step past it.
        await flush();
        st.after = it.kind + ':' + it.id;
        st.skipped++;
        save();
        progressed = true;
        continue;
      }
      const envelope = r.envelope;
      batch.push({ kind: it.kind, id: it.id, prev: envelopeDigest(it.envelope), envelope });
      bytes += envelope.length;
      progressed = true;
      if (batch.length >= PAGE || bytes >= BATCH_BYTES) await flush();
    }
    await flush();
    if (!progressed) break;
  }
  return { done: st.done, skipped: st.skipped, total };
}
