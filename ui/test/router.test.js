import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guard, hrefFor, parseHash, routes } from '../src/router.js';

test('parseHash maps every route and its params', () => {
  const cases = [
    ['', 'home', {}],
    ['#', 'home', {}],
    ['#/', 'home', {}],
    ['#/login', 'login', {}],
    ['#/login/', 'login', {}],
    ['#/restore', 'restore', {}],
    ['#/setup/tok_EN-123', 'setup', { token: 'tok_EN-123' }],
    ['#/invite/AbC-_9', 'invite', { code: 'AbC-_9' }],
    ['#/invite/a%2Db', 'invite', { code: 'a-b' }],
    ['#/account', 'account', {}],
    ['#/admin/volunteers', 'adminVolunteers', {}],
    ['#/admin/invites', 'adminInvites', {}],
    ['#/admin/settings', 'adminSettings', {}],
    ['#/admin/audit', 'adminAudit', {}],
    ['#/admin/dashboard', 'adminDashboard', {}],
    ['#/blank', 'blank', {}],
    ['#/login?next=x', 'login', {}],
  ];
  for (const [hash, name, params] of cases) {
    const r = parseHash(hash);
    assert.equal(r.name, name, hash);
    assert.deepEqual(r.params, params, hash);
  }
});

test('parseHash refuses anything that is not exactly a route', () => {
  for (const hash of [
    '#main',
    '#/nope',
    '#/setup',
    '#/setup/',
    '#/setup/a/b',
    '#/invite/%E0%A4%A',
    '#/invite/<script>',
    '#/invite/a%20b',
    '#/admin',
    '#/admin/volunteers/x',
    '#//login',
    '#/invite/' + 'x'.repeat(513),
  ]) {
    assert.equal(parseHash(hash).name, hash === '#//login' ? 'login' : 'notFound', String(hash));
  }
});

test('parseHash treats a missing hash as home', () => {
  assert.equal(parseHash(null).name, 'home');
  assert.equal(parseHash(undefined).name, 'home');
});

test('hrefFor round-trips through parseHash', () => {
  for (const r of routes) {
    const params = {};
    for (const seg of r.path.split('/')) if (seg.startsWith(':')) params[seg.slice(1)] = 'v-1_x';
    const href = hrefFor(r.name, params);
    const back = parseHash(href);
    assert.equal(back.name, r.name);
    assert.deepEqual(back.params, params);
  }
  assert.throws(() => hrefFor('setup'), /needs token/);
  assert.throws(() => hrefFor('nowhere'), /unknown route/);
});

test('guard sends the locked to login and volunteers away from admin screens', () => {
  const admin = parseHash('#/admin/volunteers');
  const home = parseHash('#/');
  const invite = parseHash('#/invite/x');
  assert.deepEqual(guard(invite, { unlocked: false }), { ok: true });
  assert.deepEqual(guard(home, { unlocked: false }), { ok: false, redirect: 'login' });
  assert.deepEqual(guard(admin, { unlocked: false, role: 'admin' }), { ok: false, redirect: 'login' });
  assert.deepEqual(guard(admin, { unlocked: true, role: 'volunteer' }), { ok: false, redirect: 'home' });
  assert.deepEqual(guard(admin, { unlocked: true, role: 'admin' }), { ok: true });
  for (const hash of ['#/admin/audit', '#/admin/dashboard']) {
    assert.deepEqual(guard(parseHash(hash), { unlocked: true, role: 'volunteer' }), { ok: false, redirect: 'home' }, hash);
  }
  assert.deepEqual(guard(home, { unlocked: true, role: 'volunteer' }), { ok: true });
  const enrol = { name: 'enrolPasskey', access: 'auth' };
  assert.deepEqual(guard(home, { unlocked: true, role: 'volunteer', mustEnrol: true }), { ok: false, redirect: 'enrolPasskey' });
  assert.deepEqual(guard(admin, { unlocked: true, role: 'admin', mustEnrol: true }), { ok: false, redirect: 'enrolPasskey' });
  assert.deepEqual(guard(enrol, { unlocked: true, role: 'volunteer', mustEnrol: true }), { ok: true });
  assert.deepEqual(guard(enrol, { unlocked: true, role: 'volunteer' }), { ok: false, redirect: 'home' });
  assert.deepEqual(guard(invite, { unlocked: true, mustEnrol: true }), { ok: true });
});
