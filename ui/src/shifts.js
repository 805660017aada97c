// The weekly schedule as the admin edits it (GET/PUT /api/shifts): rules
// with days and wall-clock times in the hotline's time zone, per-date
// overrides, and the fallback group rung when nobody on shift is available. The
// checks mirror the server's (store/shifts.go) so mistakes are shown next
// to the field instead of as one refusal for the whole schedule.
import { tk } from './i18n.js';

// Monday first, as people read a week; the API numbers days 0 = Sunday.
export const WEEK = Object.freeze([1, 2, 3, 4, 5, 6, 0]);
export const MAX_SHIFT_NAME = 80;

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;

// clockMinutes reads HH:MM (and 24:00 as an end) → minutes, or null.
export function clockMinutes(s, { end = false } = {}) {
  if (end && s === '24:00') return 1440;
  const m = CLOCK.exec(String(s || ''));
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

export const overnight = (rule) => {
  const a = clockMinutes(rule.start);
  const b = clockMinutes(rule.end, { end: true });
  return a !== null && b !== null && b <= a;
};

// whoRings says, for a saved schedule, which rule the call engine applies
// (hotline.ScheduledNow and eligible): an i18n key for the admin.
//   no shifts, no fallback group → every available volunteer is rung;
//   no shifts, a fallback group  → only the fallback group;
//   shifts and a fallback group  → those on shift, else the fallback group;
//   shifts, no fallback group    → those on shift, else nobody.
export function whoRings({ rules = [], fallback = [] }) {
  if (!rules.length) return fallback.length ? tk('shifts.ringsFallbackOnly') : tk('shifts.ringsEveryone');
  return fallback.length ? tk('shifts.ringsShiftsThenFallback') : tk('shifts.ringsShiftsOnly');
}

export function newRule(id) {
  return { id, name: '', days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00', volunteers: [] };
}

function validDate(s) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(String(s || ''))) return false;
  const d = new Date(s + 'T00:00:00Z');
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

// checkShifts → [{where: 'rule'|'override', index, prop, key, vars}].
export function checkShifts({ rules = [], overrides = [] }) {
  const out = [];
  const add = (where, index, prop, key, vars) => out.push({ where, index, prop, key, vars });
  const ids = new Set(rules.map((r) => r.id));
  rules.forEach((r, i) => {
    if ([...String(r.name || '')].length > MAX_SHIFT_NAME) add('rule', i, 'name', tk('shifts.nameLong'), { max: MAX_SHIFT_NAME });
    if (!Array.isArray(r.days) || r.days.length === 0) add('rule', i, 'days', tk('shifts.noDays'));
    const a = clockMinutes(r.start);
    const b = clockMinutes(r.end, { end: true });
    if (a === null) add('rule', i, 'start', tk('shifts.badTime'));
    if (b === null) add('rule', i, 'end', tk('shifts.badTime'));
    if (a !== null && b !== null && a === b) add('rule', i, 'end', tk('shifts.sameTimes'));
  });
  overrides.forEach((o, i) => {
    if (!validDate(o.date)) add('override', i, 'date', tk('shifts.badDate'));
    if (o.ruleId && !ids.has(o.ruleId)) add('override', i, 'ruleId', tk('shifts.unknownRule'));
    if (o.kind === 'substitute' && (!o.volunteers || o.volunteers.length === 0)) add('override', i, 'volunteers', tk('shifts.needVolunteers'));
  });
  return out;
}

// toRequest shapes the editor's state as PUT /api/shifts wants it: a cancel
// lists no volunteers, an empty ruleId is left out, days are sorted.
export function toRequest({ rules, overrides, fallback }) {
  return {
    rules: rules.map((r) => ({
      id: r.id,
      name: String(r.name || '').trim(),
      days: [...new Set(r.days)].sort((a, b) => a - b),
      start: r.start,
      end: r.end,
      volunteers: [...new Set(r.volunteers)],
    })),
    overrides: overrides.map((o) => {
      const x = { date: o.date, kind: o.kind };
      if (o.ruleId) x.ruleId = o.ruleId;
      if (o.kind === 'substitute') x.volunteers = [...new Set(o.volunteers || [])];
      return x;
    }),
    fallback: [...new Set(fallback || [])],
  };
}

// fromResponse: the server's object → the editor's state (defaults filled).
export function fromResponse(s) {
  return {
    rules: (s.rules || []).map((r) => ({ id: r.id, name: r.name || '', days: r.days || [], start: r.start, end: r.end, volunteers: r.volunteers || [] })),
    overrides: (s.overrides || []).map((o) => ({ date: o.date, ruleId: o.ruleId || '', kind: o.kind, volunteers: o.volunteers || [] })),
    fallback: s.fallback || [],
  };
}
