import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateHint, datePattern, formatDate, parseDate } from '../src/dates.js';

test('each language writes dates its own way', () => {
  assert.deepEqual(datePattern('es'), { order: ['day', 'month', 'year'], sep: '/' });
  assert.deepEqual(datePattern('en').order, ['month', 'day', 'year']);
  assert.equal(formatDate('2026-11-25', 'es'), '25/11/2026');
  assert.equal(formatDate('2026-11-25', 'en'), '11/25/2026');
  assert.equal(dateHint('es', { day: 'DD', month: 'MM', year: 'AAAA' }), 'DD/MM/AAAA');
  assert.equal(dateHint('en', { day: 'DD', month: 'MM', year: 'YYYY' }), 'MM/DD/YYYY');
});

test('what people type is read in their language', () => {
  assert.equal(parseDate('25/11/2026', 'es'), '2026-11-25');
  assert.equal(parseDate('5-3-2026', 'es'), '2026-03-05');
  assert.equal(parseDate('3/5/2026', 'en'), '2026-03-05');
  assert.equal(parseDate(' 2026-03-05 ', 'en'), '2026-03-05');
  assert.equal(parseDate('', 'es'), '');
  assert.equal(parseDate('25/11/2026', 'en'), null, 'month 25');
  assert.equal(parseDate('31/04/2026', 'es'), null, '31 April');
  assert.equal(parseDate('29/02/2026', 'es'), null, 'not a leap year');
  assert.equal(parseDate('1/2/26', 'es'), null, 'two-digit year');
  assert.equal(parseDate('mañana', 'es'), null);
});
