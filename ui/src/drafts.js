// Note drafts in localStorage, sealed to the writer's own key (purpose
// draft, context callId + noteId), so a reload or a crash loses nothing and
// a copy of the browser's storage reads nothing. One item per note:
//   llamenos.draft.<noteId> = {"v":1,"callId","noteId","savedAt","envelope"}
// The call and note ids and the time are in clear (the opener needs the ids
// for the context); the text and the field values are only in the envelope.
// Logout and panic wipe remove every llamenos.draft.* item (storage.js).
import { DRAFT_PREFIX, wipeDrafts } from './storage.js';
import { isNoteId, openDraft, sealDraft } from './notes.js';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

export function draftKey(noteId) {
  return DRAFT_PREFIX + noteId;
}

function readItem(storage, key) {
  let v;
  try {
    v = JSON.parse(storage.getItem(key));
  } catch {
    return null;
  }
  if (!v || v.v !== 1 || !isNoteId(v.noteId) || typeof v.callId !== 'string' || !ID.test(v.callId)) return null;
  if (typeof v.envelope !== 'string' || draftKey(v.noteId) !== key) return null;
  return v;
}

export function createDraftStore({ storage, now = Date.now }) {
  return {
    // save seals and writes; false when storage refuses (full, disabled).
    save({ callId, noteId, payload, edit = false, pubkey }) {
      if (!isNoteId(noteId) || !ID.test(callId) || !pubkey) return false;
      const envelope = sealDraft(payload, { callId, noteId, pubkey, edit });
      try {
        storage.setItem(draftKey(noteId), JSON.stringify({ v: 1, callId, noteId, savedAt: new Date(now()).toISOString(), envelope }));
        return true;
      } catch {
        return false;
      }
    },

    // load → {callId, noteId, savedAt, payload, edit}, {error: reason} when
    // the draft is there but does not open (another key, damaged), or null.
    load(noteId, secretKey) {
      const item = readItem(storage, draftKey(noteId));
      if (!item) return null;
      const r = openDraft(item.envelope, item, secretKey);
      if (!r.ok) return { callId: item.callId, noteId: item.noteId, savedAt: item.savedAt, error: r.reason };
      return { callId: item.callId, noteId: item.noteId, savedAt: item.savedAt, payload: r.payload, edit: r.edit };
    },

    // list: what drafts exist (no decryption), newest first.
    list() {
      const out = [];
      for (let i = 0; i < storage.length; i++) {
        const k = storage.key(i);
        if (!k || !k.startsWith(DRAFT_PREFIX)) continue;
        const item = readItem(storage, k);
        if (item) out.push({ callId: item.callId, noteId: item.noteId, savedAt: item.savedAt });
      }
      return out.sort((a, b) => String(b.savedAt).localeCompare(String(a.savedAt)));
    },

    forCall(callId) {
      return this.list().filter((d) => d.callId === callId);
    },

    remove(noteId) {
      try {
        storage.removeItem(draftKey(noteId));
      } catch {
        // Nothing to remove.
      }
    },

    wipe() {
      return wipeDrafts(storage);
    },
  };
}
