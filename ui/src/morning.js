// What the admin's audit and dashboard screens compute without the DOM:
// the chain's verification as a sentence, the audit filter as a query,
// durations as text. Kept apart so unit tests can run them in Node.

// The subject kinds the server's audit log knows (store's subjectKinds).
export const AUDIT_KINDS = ['call', 'note', 'transcript', 'voicemail', 'shift', 'override', 'volunteer', 'ban', 'invite', 'passkey', 'setting', 'fields', 'schema', 'backup'];

// The action families an admin filters by; a family matches every
// family.… action, and a full action such as call.answered only itself.
export const AUDIT_FAMILIES = ['call', 'note', 'voicemail', 'ban', 'invite', 'volunteer', 'login', 'logout', 'passkey', 'settings', 'shifts', 'fields', 'prompt', 'store'];

// chainStatus turns GET /api/audit/verify into {ok, key, params}: "verified
// up to entry N", or where it breaks and how far it holds before that.
export function chainStatus(v) {
  if (v && v.ok === true) return { ok: true, key: 'audit.chainOk', params: { n: v.entries } };
  if (v && v.ok === false && Number.isInteger(v.firstBad)) {
    const last = v.firstBad - 1;
    return last > 0
      ? { ok: false, key: 'audit.chainBroken', params: { seq: v.firstBad, last } }
      : { ok: false, key: 'audit.chainBrokenFirst', params: { seq: v.firstBad } };
  }
  return { ok: false, key: 'audit.chainUnknown', params: {} };
}

// localDayStart is the start of the browser's local day of 'YYYY-MM-DD',
// as an ISO time; null for anything else.
export function localDayStart(ymd, plusDays = 0) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

// auditQuery builds the audit list's filter: dates are whole local days,
// "to" included. → {query} or {error: key}.
export function auditQuery({ action = '', kind = '', actor = '', from = '', to = '' } = {}) {
  const q = {};
  const a = action.trim().toLowerCase();
  if (a) {
    if (!/^[a-z][a-z0-9_]{0,63}(\.[a-z0-9_.]{1,62})?$/.test(a)) return { error: 'audit.badAction' };
    q.action = a;
  }
  if (kind) q.kind = kind;
  if (actor) q.actor = actor;
  if (from && to && from > to) return { error: 'calls.toBeforeFrom' };
  if (from) q.from = localDayStart(from);
  if (to) q.to = localDayStart(to, 1);
  return { query: q };
}

// durationText: under a minute, seconds to a tenth in the language's own
// words ("1.5 sec", "1,5 s"); from a minute on "m:ss" or "h:mm:ss".
export function durationText(ms, lang = 'en') {
  if (ms < 59950) return new Intl.NumberFormat(lang, { style: 'unit', unit: 'second', maximumFractionDigits: 1 }).format(Math.max(0, ms) / 1000);
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
