// Custom field definitions (the admin editor) and values (the note editor):
// the browser is the only place a value can be checked, since the server
// never sees one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_FIELDS,
  checkDefinitions,
  checkNote,
  checkValue,
  definitionToRow,
  fieldIdFrom,
  inputValue,
  parseNumber,
  readInput,
  rowToDefinition,
} from '../src/fields.js';

const keys = (problems) => problems.map((p) => `${p.index}:${p.prop}:${p.key}`);

const ALL = [
  { id: 'summary', label: 'Summary', type: 'text', required: true, minLength: 3, maxLength: 20 },
  { id: 'details', label: 'Details', type: 'textarea', maxLength: 50 },
  { id: 'age', label: 'Age', type: 'number', min: 0, max: 120 },
  { id: 'risk', label: 'Risk', type: 'select', options: ['low', 'medium', 'high'], required: true },
  { id: 'referred', label: 'Referred', type: 'checkbox' },
  { id: 'consent', label: 'Consent', type: 'checkbox', required: true },
];

test('valid definitions pass, each broken rule names its row and property', () => {
  assert.deepEqual(checkDefinitions(ALL), []);
  const cases = [
    [{ id: 'Bad', label: 'x', type: 'text' }, '0:id:fields.badId'],
    [{ id: '1a', label: 'x', type: 'text' }, '0:id:fields.badId'],
    [{ id: 'a'.repeat(33), label: 'x', type: 'text' }, '0:id:fields.badId'],
    [{ id: 'a', label: '  ', type: 'text' }, '0:label:fields.badLabel'],
    [{ id: 'a', label: 'x'.repeat(101), type: 'text' }, '0:label:fields.badLabel'],
    [{ id: 'a', label: 'x', type: 'date' }, '0:type:fields.badType'],
    [{ id: 'a', label: 'x', type: 'select', options: [] }, '0:options:fields.optionCount'],
    [{ id: 'a', label: 'x', type: 'select', options: ['a', 'a'] }, '0:options:fields.badOption'],
    [{ id: 'a', label: 'x', type: 'select', options: Array.from({ length: 51 }, (_, i) => 'o' + i) }, '0:options:fields.optionCount'],
    [{ id: 'a', label: 'x', type: 'text', options: ['a'] }, '0:options:fields.optionsOnlySelect'],
    [{ id: 'a', label: 'x', type: 'number', min: 5, max: 1 }, '0:max:fields.minAboveMax'],
    [{ id: 'a', label: 'x', type: 'text', min: 1 }, '0:min:fields.rangeOnlyNumber'],
    [{ id: 'a', label: 'x', type: 'number', maxLength: 3 }, '0:minLength:fields.lengthOnlyText'],
    [{ id: 'a', label: 'x', type: 'text', minLength: 5, maxLength: 2 }, '0:maxLength:fields.minLengthAboveMax'],
    [{ id: 'a', label: 'x', type: 'textarea', maxLength: 1.5 }, '0:maxLength:fields.badLength'],
    [{ id: 'a', label: 'x', type: 'text', maxLength: 20001 }, '0:maxLength:fields.badLength'],
  ];
  for (const [def, want] of cases) assert.deepEqual(keys(checkDefinitions([def])), [want], JSON.stringify(def));
  assert.deepEqual(keys(checkDefinitions([ALL[0], { ...ALL[1], id: 'summary' }])), ['1:id:fields.dupId']);
  const many = Array.from({ length: MAX_FIELDS + 1 }, (_, i) => ({ id: 'f' + i, label: 'F' + i, type: 'checkbox' }));
  assert.deepEqual(keys(checkDefinitions(many)), ['-1:list:fields.tooMany']);
  assert.deepEqual(keys(checkDefinitions(many.slice(0, MAX_FIELDS))), []);
});

test('ids are made from labels, unique and valid', () => {
  assert.equal(fieldIdFrom('Risk level'), 'risk_level');
  assert.equal(fieldIdFrom('¿Edad aproximada?'), 'edad_aproximada');
  assert.equal(fieldIdFrom('42 things'), 'field_42_things');
  assert.equal(fieldIdFrom(''), 'field');
  assert.equal(fieldIdFrom('Risk', new Set(['risk', 'risk_2'])), 'risk_3');
  for (const l of ['Ñandú', '   ', '!!!', 'x'.repeat(80), 'A-B-C']) assert.deepEqual(checkDefinitions([{ id: fieldIdFrom(l), label: 'x', type: 'text' }]), [], l);
});

test('editor rows become definitions and back', () => {
  for (const d of ALL) {
    const { def, problems } = rowToDefinition(definitionToRow(d));
    assert.deepEqual(problems, []);
    assert.deepEqual(def, d);
  }
  const r = rowToDefinition({ id: 'n', label: 'N', type: 'number', min: 'abc', max: '3,5' });
  assert.deepEqual(r.problems, [{ prop: 'min', key: 'fields.notNumber' }]);
  assert.equal(r.def.max, 3.5);
  const t = rowToDefinition({ id: 't', label: 'T', type: 'text', minLength: '2.5', maxLength: '0' });
  assert.deepEqual(t.problems, [{ prop: 'minLength', key: 'fields.notWholeNumber' }]);
  assert.equal('maxLength' in t.def, false, '0 means no bound and is left out');
  const s = rowToDefinition({ id: 's', label: 'S', type: 'select', options: ' a \n\n b\n' });
  assert.deepEqual(s.def.options, ['a', 'b']);
});

test('numbers are read as people type them', () => {
  assert.equal(parseNumber('12'), 12);
  assert.equal(parseNumber(' -3.5 '), -3.5);
  assert.equal(parseNumber('3,5'), 3.5);
  assert.equal(parseNumber('.5'), 0.5);
  for (const bad of ['', '1,2,3', '1.2.3', '12abc', '0x10', 'Infinity', '1 000']) assert.ok(Number.isNaN(parseNumber(bad)), bad);
});

test('form input becomes typed values, empty is absent', () => {
  const [text, , num, sel, box] = ALL;
  assert.equal(readInput(text, '  '), undefined);
  assert.equal(readInput(text, ' hi '), ' hi ');
  assert.equal(readInput(num, ''), undefined);
  assert.equal(readInput(num, '42'), 42);
  assert.equal(readInput(num, 'forty'), 'forty', 'kept so the check can explain');
  assert.equal(readInput(sel, ''), undefined);
  assert.equal(readInput(sel, 'low'), 'low');
  assert.equal(readInput(box, true), true);
  assert.equal(readInput(box, false), false);
  assert.equal(inputValue(num, 42), '42');
  assert.equal(inputValue(num, undefined), '');
  assert.equal(inputValue(box, undefined), false);
});

test('values are held to their definition with a message key', () => {
  const [text, area, num, sel, box, consent] = ALL;
  const k = (d, v) => (checkValue(d, v) || {}).key || null;
  assert.equal(k(text, undefined), 'fields.required');
  assert.equal(k(text, '  '), 'fields.required');
  assert.equal(k(text, 'ab'), 'fields.tooShort');
  assert.deepEqual(checkValue(text, 'ab').vars, { min: 3, n: 2 });
  assert.equal(k(text, 'abc'), null);
  assert.equal(k(text, 'ñ'.repeat(20)), null, 'length counts characters, not bytes');
  assert.equal(k(text, 'x'.repeat(21)), 'fields.tooLong');
  assert.equal(k(text, 5), 'fields.notText');
  assert.equal(k(area, undefined), null);
  assert.equal(k(area, 'y'.repeat(51)), 'fields.tooLong');
  assert.equal(k({ id: 'free', label: 'F', type: 'textarea' }, 'z'.repeat(20001)), 'fields.tooLong');
  assert.equal(k(num, undefined), null);
  assert.equal(k(num, 'forty'), 'fields.notNumber');
  assert.equal(k(num, NaN), 'fields.notNumber');
  assert.equal(k(num, -1), 'fields.tooSmall');
  assert.equal(k(num, 121), 'fields.tooLarge');
  assert.equal(k(num, 0), null);
  assert.equal(k(sel, undefined), 'fields.required');
  assert.equal(k(sel, 'LOW'), 'fields.notAnOption');
  assert.equal(k(sel, 'high'), null);
  assert.equal(k(box, false), null);
  assert.equal(k(box, 'yes'), 'fields.notBoolean');
  assert.equal(k(consent, false), 'fields.mustTick');
  assert.equal(k(consent, true), null);
});

test('a whole note: errors by field id, undefined fields kept unchecked', () => {
  const good = { text: 'Caller was calm.', fields: { summary: 'Calm talk', risk: 'low', consent: true, removed_field: 'kept' } };
  assert.deepEqual(checkNote(ALL, good), {});
  const bad = checkNote(ALL, { text: 'x'.repeat(100001), fields: { summary: 'a', age: 200 } });
  assert.deepEqual(Object.keys(bad).sort(), ['age', 'consent', 'risk', 'summary', 'text']);
  assert.equal(bad.text.key, 'fields.tooLong');
  assert.deepEqual(checkNote([], { text: '' }), {});
});
