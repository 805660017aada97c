// Dates as people write them in the app's language. A native date input
// follows the browser's language, not the app's, so the date filters are
// text fields read and written here: "25/11/2026" in Spanish, "11/25/2026"
// in English, and the ISO form (2026-11-25) everywhere.

// datePattern is the order of day, month and year in lang and the
// separator between them, from Intl.
export function datePattern(lang) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat(lang, { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' }).formatToParts(new Date(Date.UTC(2026, 10, 25)));
  } catch {
    parts = new Intl.DateTimeFormat('en', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' }).formatToParts(new Date(Date.UTC(2026, 10, 25)));
  }
  const order = parts.filter((p) => p.type === 'day' || p.type === 'month' || p.type === 'year').map((p) => p.type);
  const lit = parts.find((p) => p.type === 'literal');
  return { order, sep: lit ? lit.value.trim() || ' ' : '/' };
}

const pad = (n, w) => String(n).padStart(w, '0');

function validYMD(y, m, d) {
  if (!(y >= 1000 && y <= 9999 && m >= 1 && m <= 12 && d >= 1)) return null;
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCMonth() !== m - 1) return null; // 31 April, 29 February of a common year
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

// parseDate reads what a person typed: '' for an empty field, the date as
// YYYY-MM-DD, or null when it is not a date.
export function parseDate(text, lang) {
  const s = String(text ?? '').trim();
  if (s === '') return '';
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (iso) return validYMD(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  const nums = s.split(/[\s./-]+/);
  if (nums.length !== 3 || !nums.every((n) => /^\d{1,4}$/.test(n))) return null;
  const { order } = datePattern(lang);
  const v = {};
  order.forEach((k, i) => (v[k] = Number(nums[i])));
  if (nums[order.indexOf('year')].length !== 4) return null;
  return validYMD(v.year, v.month, v.day);
}

// formatDate writes YYYY-MM-DD the way lang writes dates ('' if invalid).
export function formatDate(iso, lang) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ''));
  if (!m) return '';
  const { order, sep } = datePattern(lang);
  const v = { year: m[1], month: m[2], day: m[3] };
  return order.map((k) => v[k]).join(sep);
}

// dateHint is the pattern spelled with the language's letters for day,
// month and year, e.g. DD/MM/AAAA.
export function dateHint(lang, letters) {
  const { order, sep } = datePattern(lang);
  return order.map((k) => letters[k]).join(sep);
}
