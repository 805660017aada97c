import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditQuery, chainStatus, durationText, localDayStart } from '../src/morning.js';

test('chainStatus: verified up to the last entry, or where it breaks', () => {
  assert.deepEqual(chainStatus({ ok: true, entries: 42, head: '42:ab' }), { ok: true, key: 'audit.chainOk', params: { n: 42 } });
  assert.deepEqual(chainStatus({ ok: false, firstBad: 7, problem: 'x' }), { ok: false, key: 'audit.chainBroken', params: { seq: 7, last: 6 } });
  assert.deepEqual(chainStatus({ ok: false, firstBad: 1, problem: 'x' }), { ok: false, key: 'audit.chainBrokenFirst', params: { seq: 1 } });
  assert.equal(chainStatus(null).key, 'audit.chainUnknown');
  assert.equal(chainStatus({ ok: false }).key, 'audit.chainUnknown');
});

test('auditQuery: families, whole local days, refusals', () => {
  assert.deepEqual(auditQuery({}), { query: {} });
  assert.deepEqual(auditQuery({ action: ' Call ', kind: 'volunteer', actor: 'system' }), { query: { action: 'call', kind: 'volunteer', actor: 'system' } });
  assert.deepEqual(auditQuery({ action: 'call.answered' }), { query: { action: 'call.answered' } });
  assert.deepEqual(auditQuery({ action: 'call.' }), { error: 'audit.badAction' });
  assert.deepEqual(auditQuery({ action: 'drop table' }), { error: 'audit.badAction' });
  assert.deepEqual(auditQuery({ from: '2026-03-02', to: '2026-03-01' }), { error: 'calls.toBeforeFrom' });
  const { query } = auditQuery({ from: '2026-03-01', to: '2026-03-01' });
  assert.equal(query.from, new Date(2026, 2, 1).toISOString());
  assert.equal(query.to, new Date(2026, 2, 2).toISOString(), 'the "to" day is included');
  assert.equal(localDayStart('2026-13-45x'), null);
  assert.equal(localDayStart('2026-12-31', 1), new Date(2027, 0, 1).toISOString());
});

test('durationText: seconds in the language, then m:ss', () => {
  assert.equal(durationText(0), '0 sec');
  assert.equal(durationText(1500), '1.5 sec');
  assert.equal(durationText(1500, 'es'), '1,5 s');
  assert.equal(durationText(59940), '59.9 sec');
  assert.equal(durationText(59960), '1:00');
  assert.equal(durationText(65000), '1:05');
  assert.equal(durationText(3723000), '1:02:03');
});
