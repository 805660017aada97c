// The shift editor's checks and its request shape (PUT /api/shifts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WEEK, checkShifts, clockMinutes, fromResponse, newRule, overnight, toRequest, whoRings } from '../src/shifts.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const R1 = '0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d';

test('clock times and overnight shifts', () => {
  assert.equal(clockMinutes('00:00'), 0);
  assert.equal(clockMinutes('23:59'), 1439);
  assert.equal(clockMinutes('24:00'), null);
  assert.equal(clockMinutes('24:00', { end: true }), 1440);
  for (const bad of ['9:00', '25:00', '12:60', '', null, '12:00:00']) assert.equal(clockMinutes(bad), null, String(bad));
  assert.equal(overnight({ start: '22:00', end: '06:00' }), true);
  assert.equal(overnight({ start: '09:00', end: '17:00' }), false);
  assert.equal(overnight({ start: '00:00', end: '24:00' }), false);
  assert.deepEqual(checkShifts({ rules: [{ id: R1, days: [0], start: '00:00', end: '24:00' }] }), [], 'all day');
  assert.deepEqual(WEEK, [1, 2, 3, 4, 5, 6, 0]);
});

test('checks name the rule or override and the property', () => {
  const ok = { rules: [{ ...newRule(R1), name: 'Day', volunteers: [A] }], overrides: [{ date: '2026-03-04', ruleId: R1, kind: 'cancel', volunteers: [] }] };
  assert.deepEqual(checkShifts(ok), []);
  const bad = {
    rules: [{ id: R1, name: 'x'.repeat(81), days: [], start: '9:00', end: '09:00' }, { id: 'r2', name: '', days: [0], start: '10:00', end: '10:00' }],
    overrides: [
      { date: '2026-02-30', ruleId: '', kind: 'cancel' },
      { date: '2026-03-01', ruleId: 'nope', kind: 'substitute', volunteers: [] },
    ],
  };
  assert.deepEqual(checkShifts(bad).map((p) => `${p.where}${p.index}:${p.prop}:${p.key}`), [
    'rule0:name:shifts.nameLong',
    'rule0:days:shifts.noDays',
    'rule0:start:shifts.badTime',
    'rule1:end:shifts.sameTimes',
    'override0:date:shifts.badDate',
    'override1:ruleId:shifts.unknownRule',
    'override1:volunteers:shifts.needVolunteers',
  ]);
});

test('the request: cancels list nobody, empty rule ids are left out, no repeats', () => {
  const req = toRequest({
    rules: [{ id: R1, name: ' Night ', days: [5, 1, 5], start: '22:00', end: '06:00', volunteers: [A, A, B] }],
    overrides: [
      { date: '2026-03-04', ruleId: '', kind: 'cancel', volunteers: [A] },
      { date: '2026-03-05', ruleId: R1, kind: 'substitute', volunteers: [B, B] },
    ],
    fallback: [A, A],
  });
  assert.deepEqual(req, {
    rules: [{ id: R1, name: 'Night', days: [1, 5], start: '22:00', end: '06:00', volunteers: [A, B] }],
    overrides: [{ date: '2026-03-04', kind: 'cancel' }, { date: '2026-03-05', kind: 'substitute', ruleId: R1, volunteers: [B] }],
    fallback: [A],
  });
  assert.deepEqual(fromResponse({ rules: [{ id: R1, days: [1], start: '09:00', end: '10:00' }], overrides: null }), {
    rules: [{ id: R1, name: '', days: [1], start: '09:00', end: '10:00', volunteers: [] }],
    overrides: [],
    fallback: [],
  });
});

test('the sentence on who is rung follows the rule the call engine applies', () => {
  const rule = { id: R1, name: '', days: [1], start: '09:00', end: '17:00', volunteers: [A] };
  assert.equal(whoRings({ rules: [], fallback: [] }), 'shifts.ringsEveryone');
  assert.equal(whoRings({ rules: [], fallback: [B] }), 'shifts.ringsFallbackOnly');
  assert.equal(whoRings({ rules: [rule], fallback: [B] }), 'shifts.ringsShiftsThenFallback');
  assert.equal(whoRings({ rules: [rule], fallback: [] }), 'shifts.ringsShiftsOnly');
});
