// Notes as the browser seals and opens them. The plaintext is JSON
// {"text": string, "fields": {fieldId: value}} (docs/api.md), sealed with
// the context (note, callId, noteId) to the author and every admin, so the
// server can neither read it nor move it to another call or note: an
// envelope opened under any other context fails, and is shown as an
// integrity error, never as text.
import { PURPOSE, openJSON, openText, sealJSON, sealText } from './keys.js';

export const noteContext = (callId, noteId) => ({ purpose: PURPOSE.NOTE, callId, itemId: noteId });
export const draftContext = (callId, noteId) => ({ purpose: PURPOSE.DRAFT, callId, itemId: noteId });
export const callerNumberContext = (callId) => ({ purpose: PURPOSE.CALLER_NUMBER, callId, itemId: 'caller' });
// A ban made from a call carries that call's caller-number envelope; a ban
// typed by an admin has its own, with no call.
export const banNumberContext = () => ({ purpose: PURPOSE.BAN, callId: '', itemId: 'number' });
export const banReasonContext = (callId = '') => ({ purpose: PURPOSE.BAN, callId, itemId: 'reason' });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// newNoteId: the id is chosen before sealing because it is bound into the
// envelope; the server wants a lowercase UUID.
export function newNoteId(cryptoImpl = globalThis.crypto) {
  return cryptoImpl.randomUUID();
}

export function isNoteId(s) {
  return typeof s === 'string' && UUID.test(s);
}

// notePayload builds the sealed object: text as typed (trailing whitespace
// included) and only the fields that have a value.
export function notePayload(text, values = {}) {
  const fields = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === null || v === '') continue;
    fields[k] = v;
  }
  return { text: typeof text === 'string' ? text : '', fields };
}

// parseNotePayload accepts exactly the shape notePayload makes (and nothing
// that could not have come from it): → payload or null.
export function parseNotePayload(v) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  if (typeof v.text !== 'string') return null;
  const fields = v.fields === undefined ? {} : v.fields;
  if (!fields || typeof fields !== 'object' || Array.isArray(fields)) return null;
  const out = {};
  for (const [k, x] of Object.entries(fields)) {
    if (typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x))) out[k] = x;
    else return null;
  }
  return { text: v.text, fields: out };
}

// noteRecipients: the author first, then every admin, without repeats.
export function noteRecipients(author, admins) {
  return [...new Set([author, ...(admins || [])])];
}

export function sealNote(payload, { callId, noteId, author, admins }) {
  return sealJSON(payload, noteContext(callId, noteId), noteRecipients(author, admins));
}

// openNote → {ok:true, payload} or {ok:false, reason} with reason locked,
// missing, notRecipient or integrity (see keys.openFailure). A plaintext
// that opens but is not a note payload is an integrity error too.
export function openNote(envelope, { callId, noteId }, secretKey) {
  const r = openJSON(envelope, noteContext(callId, noteId), secretKey);
  if (!r.ok) return r;
  const payload = parseNotePayload(r.value);
  return payload ? { ok: true, payload } : { ok: false, reason: 'integrity' };
}

// Drafts are sealed to their writer only. `edit` says the draft changes a
// note already saved (PUT) rather than a new one (POST).
export function sealDraft(payload, { callId, noteId, pubkey, edit = false }) {
  return sealJSON({ ...payload, edit: !!edit }, draftContext(callId, noteId), [pubkey]);
}

export function openDraft(envelope, { callId, noteId }, secretKey) {
  const r = openJSON(envelope, draftContext(callId, noteId), secretKey);
  if (!r.ok) return r;
  const payload = parseNotePayload({ text: r.value && r.value.text, fields: r.value && r.value.fields });
  if (!payload) return { ok: false, reason: 'integrity' };
  return { ok: true, payload, edit: r.value.edit === true };
}

// The caller's number as admins see it: the daemon seals the E.164 string.
const E164 = /^\+[1-9][0-9]{6,14}$/;

export function openCallerNumber(envelope, callId, secretKey) {
  const r = openText(envelope, callerNumberContext(callId), secretKey);
  if (!r.ok) return r;
  return E164.test(r.text) ? { ok: true, number: r.text } : { ok: false, reason: 'integrity' };
}

// normalizeE164 mirrors the server's NormalizeE164 (docs/crypto.md): drop
// spaces, dashes and parentheses, then require +<7..15 digits>. → string or
// null. Nothing else is guessed, so a number hashes one way only.
export function normalizeE164(s) {
  const n = String(s || '').replace(/[ \-()]/g, '');
  return E164.test(n) ? n : null;
}

export function sealBanNumber(number, admins) {
  return sealText(number, banNumberContext(), admins);
}

export function sealBanReason(reason, callId, admins) {
  return sealText(reason, banReasonContext(callId), admins);
}

// openBan opens a ban's number (from its call's caller-number envelope when
// the ban came from a call, else the admin-typed one) and its reason.
export function openBan(ban, secretKey) {
  const number = ban.callId
    ? openCallerNumber(ban.number, ban.callId, secretKey)
    : (() => {
        const r = openText(ban.number, banNumberContext(), secretKey);
        return r.ok ? { ok: true, number: r.text } : r;
      })();
  let reason = null;
  if (ban.reason) {
    const r = openText(ban.reason, banReasonContext(ban.callId || ''), secretKey);
    reason = r.ok ? { ok: true, text: r.text } : r;
  }
  return { number, reason };
}
