// Steps several end-to-end tests share: set up the hotline, invite and
// onboard people, log in, make someone available, schedule them, place a
// demo call. Each goes through the UI the way a person would.
import assert from 'node:assert/strict';
import path from 'node:path';
import { poll } from './harness.js';

export async function step(t, name, fn) {
  t.diagnostic(`step: ${name}`);
  try {
    return await fn();
  } catch (err) {
    err.message = `[${name}] ${err.message}`;
    throw err;
  }
}

export async function heading(page, name) {
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

// onboard fills the profile + passphrase form of setup or invite, then the
// recovery backup step.
export async function onboard(page, who, submit, saveTo) {
  await page.getByLabel('Your name').fill(who.name);
  if (who.phone) await page.getByLabel('Phone number (optional)').fill(who.phone);
  await page.getByLabel('Passphrase', { exact: true }).fill(who.passphrase);
  await page.getByLabel('Repeat the passphrase').fill(who.passphrase);
  await page.getByRole('button', { name: submit }).click();
  await page.getByRole('heading', { name: 'Save your recovery backup' }).waitFor({ timeout: 60000 });
  const recoveryKey = (await page.locator('#recovery-key').textContent()).trim();
  if (saveTo) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download backup file' }).click()]);
    await download.saveAs(saveTo);
  }
  await page.getByLabel(/I have saved the backup file/).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  return recoveryKey;
}

export async function setupAdmin(h, page, who) {
  await page.goto(h.setupURL);
  await heading(page, 'Set up the hotline');
  await onboard(page, who, 'Create admin account', null);
  await heading(page, `Hello, ${who.name}`);
}

export async function login(page, passphrase) {
  await heading(page, /Log in|Locked/);
  await page.getByLabel('Passphrase', { exact: true }).fill(passphrase);
  await page.getByRole('button', { name: /^(Log in|Unlock)$/ }).click();
}

export async function logout(page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await heading(page, 'Log in');
}

// nav follows a header link and waits for the new screen: the old heading
// is marked first, because a link to the screen already shown re-renders it
// and its old controls would otherwise be used while being replaced.
export async function nav(page, name, headingName = name) {
  await page.evaluate(() => document.querySelector('main h1')?.setAttribute('data-stale', ''));
  await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
  await page.locator('main h1:not([data-stale])').waitFor();
  await heading(page, headingName);
}

// invite creates an invite link as the admin on adminPage.
export async function invite(adminPage, role = 'volunteer') {
  await nav(adminPage, 'Invites');
  const box = adminPage.getByLabel('Invite link');
  const before = (await box.count()) ? await box.inputValue() : '';
  await adminPage.getByLabel('Role').selectOption(role);
  await adminPage.getByRole('button', { name: 'Create invite link' }).click();
  return poll(async () => {
    const v = await box.inputValue();
    return v && v !== before ? v : null;
  }, { what: 'a new invite link' });
}

// join onboards a volunteer from an invite link, skipping the passkey.
// → the recovery key (the backup file goes to saveTo when given).
export async function join(h, page, link, who, saveTo = null) {
  await page.goto(link);
  await heading(page, 'Join the hotline');
  const key = await onboard(page, who, 'Create my account', saveTo);
  await page.getByRole('button', { name: 'Not now' }).click();
  await heading(page, `Hello, ${who.name}`);
  return key;
}

export async function makeAvailable(page) {
  await nav(page, 'Home', /^Hello, /);
  const toggle = page.getByRole('button', { name: 'Available for calls' });
  if ((await toggle.getAttribute('aria-pressed')) !== 'true') await toggle.click();
  await poll(async () => (await toggle.getAttribute('aria-pressed')) === 'true', { what: 'available' });
}

// scheduleEveryoneNow: the admin puts every listed name in the fallback
// group (rung when nobody is scheduled) and in a shift covering every day,
// all day, so they are on shift whatever the time zone and the clock say.
export async function scheduleEveryoneNow(adminPage, names) {
  await nav(adminPage, 'Shifts');
  await adminPage.getByRole('button', { name: 'Add a shift' }).click();
  const rule = adminPage.locator('fieldset.shift-rule').last();
  await rule.getByLabel('Name').fill('Always');
  for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']) {
    await rule.getByLabel(day, { exact: true }).check();
  }
  await rule.getByLabel('All day (00:00 to 24:00)').check();
  const fallback = adminPage.locator('fieldset.vol-checks', { has: adminPage.getByText('Fallback volunteers', { exact: true }) });
  for (const n of names) {
    await rule.getByLabel(n, { exact: true }).check();
    await fallback.getByLabel(n, { exact: true }).check();
  }
  await adminPage.getByRole('button', { name: 'Save', exact: true }).click();
  await adminPage.getByText('Shifts saved.').waitFor();
}

// apiAs runs a same-origin API call inside page (its cookie, its Origin).
export function apiAs(page, method, url, body) {
  return page.evaluate(
    async ([m, u, b]) => {
      const r = await fetch(u, { method: m, credentials: 'same-origin', headers: b === undefined ? {} : { 'Content-Type': 'application/json' }, body: b === undefined ? undefined : JSON.stringify(b) });
      const text = await r.text();
      let json = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = null;
      }
      return { status: r.status, json };
    },
    [method, url, body],
  );
}

export function tmpFile(h, name) {
  return path.join(h.tmp, name);
}

// placeDemoCall asks the simulator for a pretend caller; caller is the
// number it dials from (so the test knows what no browser may receive).
export async function placeDemoCall(adminPage, audio, caller) {
  const r = await apiAs(adminPage, 'POST', '/api/demo/calls', caller ? { audio, caller } : { audio });
  assert.equal(r.status, 200, `demo call: ${JSON.stringify(r.json)}`);
  return r.json;
}

// nonErrors filters the console noise every test tolerates: refused
// requests the test provoked on purpose.
export function scriptErrors(c) {
  return c.consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of (400|401|403|404|409|410)/.test(e));
}

// callerNumberIn reads the decrypted caller number from the calls list row
// of callId, and fails with the reason when it did not open.
export async function callerNumberIn(page, callId) {
  const cell = page.locator(`tr[data-call-id="${callId}"] td[data-label="Caller"]`);
  await cell.locator('.caller-number, .integrity-error').waitFor();
  const bad = cell.locator('.integrity-error');
  if (await bad.count()) {
    const reason = await bad.getAttribute('data-reason');
    assert.fail(`the caller number did not open (${reason}): it must be sealed with (caller-number, ${callId}, caller)`);
  }
  return (await cell.locator('.caller-number').textContent()).trim();
}
