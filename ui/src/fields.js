// Custom note fields: the admin's definitions (plaintext, docs/api.md
// FieldDef) and the values a volunteer types (sealed inside the note). The
// rules here are the server's (store/fields.go) for definitions, and the
// browser's own for values: the server never sees a value, so the browser is
// the only place a value can be held to its definition.
//
// Every check returns null when fine, else {key, vars}: an i18n key and its
// placeholders, so the screens can show a sentence next to the field.
import { tk } from './i18n.js';

export const FIELD_TYPES = Object.freeze(['text', 'textarea', 'number', 'select', 'checkbox']);
export const MAX_FIELDS = 20;
export const MAX_OPTIONS = 50;
export const MAX_LABEL = 100;
export const MAX_VALUE_LENGTH = 20000;
// The free text of a note. Notes go up in a 1 MiB body; this leaves room
// for the fields and the envelope's base64 growth.
export const MAX_NOTE_TEXT = 100000;
export const FIELD_ID = /^[a-z][a-z0-9_]{0,31}$/;

const problem = (key, vars) => ({ key, vars });
const chars = (s) => [...s].length;
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

function validLabel(s) {
  return typeof s === 'string' && s.trim() !== '' && chars(s) <= MAX_LABEL;
}

// checkDefinitions holds a list of FieldDefs to the server's rules, so the
// editor can point at the row and the property that is wrong before saving.
// → [{index, prop, key, vars}], empty when the list is fine. prop is one of
// list, id, label, type, options, min, max, minLength, maxLength.
export function checkDefinitions(defs) {
  const out = [];
  const add = (index, prop, key, vars) => out.push({ index, prop, key, vars });
  if (!Array.isArray(defs)) return [{ index: -1, prop: 'list', key: tk('fields.defsNotList') }];
  if (defs.length > MAX_FIELDS) add(-1, 'list', tk('fields.tooMany'), { max: MAX_FIELDS });
  const ids = new Set();
  defs.forEach((d, i) => {
    if (!d || typeof d !== 'object') {
      add(i, 'type', tk('fields.badType'));
      return;
    }
    if (typeof d.id !== 'string' || !FIELD_ID.test(d.id)) add(i, 'id', tk('fields.badId'));
    else if (ids.has(d.id)) add(i, 'id', tk('fields.dupId'));
    ids.add(d.id);
    if (!validLabel(d.label)) add(i, 'label', tk('fields.badLabel'), { max: MAX_LABEL });
    if (!FIELD_TYPES.includes(d.type)) {
      add(i, 'type', tk('fields.badType'));
      return;
    }
    if (d.type === 'select') {
      const opts = Array.isArray(d.options) ? d.options : [];
      if (opts.length === 0 || opts.length > MAX_OPTIONS) add(i, 'options', tk('fields.optionCount'), { max: MAX_OPTIONS });
      const seen = new Set();
      for (const o of opts) {
        if (!validLabel(o) || seen.has(o)) {
          add(i, 'options', tk('fields.badOption'), { option: String(o).slice(0, 40), max: MAX_LABEL });
          break;
        }
        seen.add(o);
      }
    } else if (d.options !== undefined && d.options.length) add(i, 'options', tk('fields.optionsOnlySelect'));
    if (d.type === 'number') {
      if (d.min !== undefined && !isNum(d.min)) add(i, 'min', tk('fields.notNumber'));
      if (d.max !== undefined && !isNum(d.max)) add(i, 'max', tk('fields.notNumber'));
      if (isNum(d.min) && isNum(d.max) && d.min > d.max) add(i, 'max', tk('fields.minAboveMax'));
    } else if (d.min !== undefined || d.max !== undefined) add(i, 'min', tk('fields.rangeOnlyNumber'));
    if (d.type === 'text' || d.type === 'textarea') {
      for (const p of ['minLength', 'maxLength']) {
        const v = d[p];
        if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > MAX_VALUE_LENGTH)) add(i, p, tk('fields.badLength'), { max: MAX_VALUE_LENGTH });
      }
      if (Number.isInteger(d.minLength) && Number.isInteger(d.maxLength) && d.maxLength > 0 && d.minLength > d.maxLength) {
        add(i, 'maxLength', tk('fields.minLengthAboveMax'));
      }
    } else if (d.minLength !== undefined || d.maxLength !== undefined) add(i, 'minLength', tk('fields.lengthOnlyText'));
  });
  return out;
}

// fieldIdFrom makes a definition id from a label ("Risk level" → risk_level),
// unique among taken; the id is what a value is stored under, so it stays
// fixed once the field is saved even if the label changes.
export function fieldIdFrom(label, taken = new Set()) {
  let base = String(label || '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 28);
  if (!/^[a-z]/.test(base)) base = ('field_' + base).replace(/_+$/, '').slice(0, 28);
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
  return id;
}

// rowToDefinition turns the editor's form values (all strings, plus the
// required flag) into a FieldDef, reporting numbers that do not parse.
// row: {id, label, type, required, options: 'one\nper\nline', min, max,
// minLength, maxLength}. → {def, problems: [{prop, key, vars}]}
export function rowToDefinition(row) {
  const problems = [];
  const def = { id: String(row.id || '').trim(), label: String(row.label || '').trim(), type: row.type };
  if (row.required) def.required = true;
  const num = (prop, integer) => {
    const raw = String(row[prop] ?? '').trim();
    if (raw === '') return;
    const v = parseNumber(raw);
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) problems.push({ prop, key: integer ? tk('fields.notWholeNumber') : tk('fields.notNumber') });
    else def[prop] = v;
  };
  if (def.type === 'select') {
    def.options = String(row.options || '')
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  if (def.type === 'number') {
    num('min', false);
    num('max', false);
  }
  if (def.type === 'text' || def.type === 'textarea') {
    num('minLength', true);
    num('maxLength', true);
    // 0 means "no bound" to the server; leave it out.
    if (def.minLength === 0) delete def.minLength;
    if (def.maxLength === 0) delete def.maxLength;
  }
  return { def, problems };
}

export function definitionToRow(def) {
  const s = (v) => (v === undefined || v === null ? '' : String(v));
  return {
    id: def.id,
    label: def.label,
    type: def.type,
    required: !!def.required,
    options: (def.options || []).join('\n'),
    min: s(def.min),
    max: s(def.max),
    minLength: def.minLength ? String(def.minLength) : '',
    maxLength: def.maxLength ? String(def.maxLength) : '',
  };
}

// parseNumber reads what people type: "12", "-3.5", and "3,5" (a decimal
// comma, as Spanish writes it). Anything else is NaN.
export function parseNumber(raw) {
  let s = String(raw).trim();
  if (/^[+-]?\d+,\d+$/.test(s)) s = s.replace(',', '.');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

// readInput converts a form control's value into the value stored in the
// note: strings for text/textarea/select, a number for number, a boolean for
// checkbox. Empty means absent (undefined). A number that does not parse is
// kept as the typed string, so checkValue can say what is wrong with it.
export function readInput(def, raw) {
  switch (def.type) {
    case 'checkbox':
      return raw === true;
    case 'number': {
      const s = String(raw ?? '').trim();
      if (s === '') return undefined;
      const n = parseNumber(s);
      return Number.isFinite(n) ? n : s;
    }
    case 'select':
      return raw === '' || raw === undefined || raw === null ? undefined : String(raw);
    default: {
      const s = String(raw ?? '');
      return s.trim() === '' ? undefined : s;
    }
  }
}

// inputValue is the inverse, for filling a form from a stored note.
export function inputValue(def, value) {
  if (def.type === 'checkbox') return value === true;
  if (value === undefined || value === null) return '';
  return String(value);
}

// checkValue holds one value to its definition. A required checkbox must be
// ticked (it is a confirmation).
export function checkValue(def, value) {
  const absent = def.type === 'checkbox' ? value === undefined || value === null || value === false : value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
  if (absent) return def.required ? problem(def.type === 'checkbox' ? tk('fields.mustTick') : tk('fields.required')) : null;
  switch (def.type) {
    case 'text':
    case 'textarea': {
      if (typeof value !== 'string') return problem(tk('fields.notText'));
      const n = chars(value);
      if (def.minLength && n < def.minLength) return problem(tk('fields.tooShort'), { min: def.minLength, n });
      const max = def.maxLength ? Math.min(def.maxLength, MAX_VALUE_LENGTH) : MAX_VALUE_LENGTH;
      if (n > max) return problem(tk('fields.tooLong'), { max, n });
      return null;
    }
    case 'number':
      if (!isNum(value)) return problem(tk('fields.notNumber'));
      if (isNum(def.min) && value < def.min) return problem(tk('fields.tooSmall'), { min: def.min });
      if (isNum(def.max) && value > def.max) return problem(tk('fields.tooLarge'), { max: def.max });
      return null;
    case 'select':
      if (typeof value !== 'string' || !(def.options || []).includes(value)) return problem(tk('fields.notAnOption'));
      return null;
    case 'checkbox':
      return typeof value === 'boolean' ? null : problem(tk('fields.notBoolean'));
    default:
      return problem(tk('fields.badType'));
  }
}

// checkNote holds a whole note to the definitions → {} when fine, else
// {text?: problem, [fieldId]: problem}. Values under ids that are no longer
// defined (an admin removed the field) are kept and not checked: they were
// valid when written, and dropping them would lose what the volunteer wrote.
export function checkNote(defs, payload) {
  const errors = {};
  const text = payload && typeof payload.text === 'string' ? payload.text : '';
  if (chars(text) > MAX_NOTE_TEXT) errors.text = problem(tk('fields.tooLong'), { max: MAX_NOTE_TEXT, n: chars(text) });
  const values = (payload && payload.fields) || {};
  for (const d of defs || []) {
    const e = checkValue(d, values[d.id]);
    if (e) errors[d.id] = e;
  }
  return errors;
}

// formatValue renders a stored value for reading (history, export).
export function formatValue(def, value, t) {
  if (value === undefined || value === null) return '';
  if ((def && def.type === 'checkbox') || typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  return String(value);
}
