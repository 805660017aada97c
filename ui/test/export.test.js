// Export formatting: JSON keeps everything typed, CSV has one column per
// field, defuses formulas and quotes what needs quoting; failed notes say
// why instead of showing anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectPages, csvCell, exportFilename, toCSV, toJSONExport } from '../src/export.js';

const defs = [
  { id: 'risk', label: 'Risk', type: 'select', options: ['low', 'high'] },
  { id: 'age', label: 'Age, approx.', type: 'number' },
  { id: 'ok', label: 'Follow-up', type: 'checkbox' },
];
const base = { callId: 'c1', author: 'ab'.repeat(32), authorName: 'Ana', createdAt: '2026-03-04T10:00:00Z', updatedAt: '2026-03-04T10:05:00Z', revision: 2 };
const rows = [
  { ...base, id: 'n1', opened: { ok: true, payload: { text: 'Line one\nline "two"', fields: { risk: 'high', age: 34, ok: true, gone: 'old field' } } } },
  { ...base, id: 'n2', opened: { ok: false, reason: 'integrity' } },
  { ...base, id: 'n3', opened: { ok: true, payload: { text: '=HYPERLINK("http://x")', fields: {} } } },
];

test('JSON export: typed values, field definitions, errors instead of text', () => {
  const doc = JSON.parse(toJSONExport(rows, defs, { exportedAt: '2026-03-05T00:00:00Z', hotline: 'Demo' }));
  assert.equal(doc.type, 'llamenos-notes-export');
  assert.equal(doc.version, 1);
  assert.deepEqual(doc.fields.map((f) => f.id), ['risk', 'age', 'ok']);
  assert.deepEqual(doc.notes[0].fields, { risk: 'high', age: 34, ok: true, gone: 'old field' });
  assert.equal(doc.notes[0].text, 'Line one\nline "two"');
  assert.equal(doc.notes[0].authorName, 'Ana');
  assert.deepEqual(Object.keys(doc.notes[1]).sort(), ['author', 'authorName', 'callId', 'createdAt', 'error', 'id', 'revision', 'updatedAt']);
  assert.equal(doc.notes[1].error, 'integrity');
});

test('CSV cells: quoting, formulas defused, numbers and booleans plain', () => {
  assert.equal(csvCell('plain'), 'plain');
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell('two\nlines'), '"two\nlines"');
  assert.equal(csvCell(' padded'), '" padded"');
  assert.equal(csvCell('=1+1'), `"'=1+1"`);
  assert.equal(csvCell('+34600'), `"'+34600"`);
  assert.equal(csvCell('-x'), `"'-x"`);
  assert.equal(csvCell('@SUM(A1)'), `"'@SUM(A1)"`);
  assert.equal(csvCell(-3), '-3');
  assert.equal(csvCell(true), 'true');
  assert.equal(csvCell(undefined), '');
  assert.equal(csvCell(NaN), '');
});

test('CSV export: header, a column per field, other fields as JSON, BOM and CRLF', () => {
  const csv = toCSV(rows, defs);
  assert.ok(csv.startsWith('\uFEFF'));
  const lines = csv.slice(1).split('\r\n');
  assert.equal(lines[0], 'note_id,call_id,author,author_name,created_at,updated_at,revision,text,Risk,"Age, approx.",Follow-up,other_fields,error');
  assert.equal(lines[1], `n1,c1,${base.author},Ana,2026-03-04T10:00:00Z,2026-03-04T10:05:00Z,2,"Line one\nline ""two""",high,34,true,"{""gone"":""old field""}",`);
  assert.equal(lines[2], `n2,c1,${base.author},Ana,2026-03-04T10:00:00Z,2026-03-04T10:05:00Z,2,,,,,,integrity`);
  assert.ok(lines[3].includes(`"'=HYPERLINK(""http://x"")"`));
  assert.equal(lines[4], '');
});

test('file names and paging', async () => {
  assert.equal(exportFilename('mine', 'csv', new Date('2026-03-04T23:00:00Z')), 'llamenos-notes-mine-2026-03-04.csv');
  const pages = { '': { items: [1, 2], next: 'a' }, a: { items: [3], next: 'b' }, b: { items: [], next: '' } };
  const seen = [];
  assert.deepEqual(await collectPages(async (c) => (seen.push(c), pages[c])), [1, 2, 3]);
  assert.deepEqual(seen, ['', 'a', 'b']);
  await assert.rejects(collectPages(async () => ({ items: [1], next: 'same' + Math.random() }), { maxPages: 5 }), /more than 5 pages/);
  assert.deepEqual(await collectPages(async () => ({ items: [1], next: '' })), [1]);
});
