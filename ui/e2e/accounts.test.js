// Issue 5, first acceptance point, in headless Chromium against the real
// daemon: the admin sets up the hotline with the one-time token, invites a
// volunteer, who onboards in a second browser context, enrolls a passkey
// (virtual authenticator) and logs in with it; the admin then requires
// passkeys and a volunteer without one must add one at their next sign-in
// before anything else; finally the
// admin deactivates the volunteer, whose open session is refused on its next
// request and whose WebSocket is closed. Along the way: the recovery backup
// restores the admin's key in a fresh browser, the panic wipe leaves nothing
// behind, and the names and phone numbers typed in the UI appear nowhere in
// the daemon's data directory or output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { findCanaries, poll, startHarness } from './harness.js';

const ADMIN = { name: 'Adela Canary-Q7Z', phone: '+34 611 742 953', passphrase: 'admin passphrase one' };
const VOL_A = { name: 'Valeria Canary-K3W', phone: '+34 622 815 374', passphrase: 'volunteer a passphrase' };
const VOL_B = { name: 'Bruno Canary-M9X', phone: '+52 55 4817 2093', passphrase: 'volunteer b passphrase' };
const digits = (p) => p.replace(/\D/g, '');

async function step(t, name, fn) {
  t.diagnostic(`step: ${name}`);
  try {
    return await fn();
  } catch (err) {
    err.message = `[${name}] ${err.message}`;
    throw err;
  }
}

async function heading(page, name) {
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

// fillOnboarding completes the profile + passphrase form of setup or invite,
// then the recovery backup step (downloading the file into `saveTo`).
async function onboard(page, who, submit, saveTo) {
  await page.getByLabel('Your name').fill(who.name);
  await page.getByLabel('Phone number (optional)').fill(who.phone);
  await page.getByLabel('Passphrase', { exact: true }).fill(who.passphrase);
  await page.getByLabel('Repeat the passphrase').fill(who.passphrase);
  await page.getByRole('button', { name: submit }).click();
  await page.getByRole('heading', { name: 'Save your recovery backup' }).waitFor({ timeout: 60000 });
  const recoveryKey = (await page.locator('#recovery-key').textContent()).trim();
  assert.match(recoveryKey, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download backup file' }).click()]);
  await download.saveAs(saveTo);
  await page.getByLabel(/I have saved the backup file/).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  return recoveryKey;
}

async function login(page, passphrase) {
  await heading(page, /Log in|Locked/);
  await page.getByLabel('Passphrase', { exact: true }).fill(passphrase);
  await page.getByRole('button', { name: /^(Log in|Unlock)$/ }).click();
}

async function logout(page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await heading(page, 'Log in');
}

const status = (page, url) => page.evaluate((u) => fetch(u, { credentials: 'same-origin' }).then((r) => r.status), url);

test('accounts: setup, invite, passkeys, policy, deactivation', { timeout: 600000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const adminBackup = path.join(h.tmp, 'admin-backup.json');

  const admin = await h.newContext();
  const volA = await h.newContext({ authenticator: true });
  const volB = await h.newContext({ authenticator: true });

  const adminKey = await step(t, 'admin completes setup with the token', async () => {
    await admin.page.goto(h.setupURL);
    await heading(admin.page, 'Set up the hotline');
    const key = await onboard(admin.page, ADMIN, 'Create admin account', adminBackup);
    await heading(admin.page, `Hello, ${ADMIN.name}`);
    assert.equal(new URL(admin.page.url()).hash, '#/', 'the token left the address bar');
    const cfg = await admin.page.evaluate(() => fetch('/api/config').then((r) => r.json()));
    assert.equal(cfg.setupRequired, false);
    return key;
  });

  await step(t, 'the setup link does not work twice', async () => {
    const page = await (await h.newContext()).page;
    await page.goto(h.setupURL);
    await page.getByText('This hotline is already set up.').waitFor();
  });

  const links = new Set();
  async function invite(role) {
    await admin.page.getByRole('link', { name: 'Invites' }).click();
    await heading(admin.page, 'Invites');
    await admin.page.getByLabel('Role').selectOption(role);
    await admin.page.getByRole('button', { name: 'Create invite link' }).click();
    const link = await poll(async () => {
      const v = await admin.page.getByLabel('Invite link').inputValue();
      return links.has(v) ? null : v;
    }, { what: 'a new invite link' });
    links.add(link);
    assert.match(link, new RegExp(`^${h.origin}/#/invite/[A-Za-z0-9_-]+$`));
    return link;
  }

  const linkA = await step(t, 'admin invites volunteer A', () => invite('volunteer'));

  await step(t, 'volunteer A onboards and enrolls a passkey', async () => {
    await volA.page.goto(linkA);
    await heading(volA.page, 'Join the hotline');
    await onboard(volA.page, VOL_A, 'Create my account', path.join(h.tmp, 'a-backup.json'));
    await volA.page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
    await volA.page.getByRole('button', { name: 'Add a passkey' }).click();
    await heading(volA.page, `Hello, ${VOL_A.name}`);
    assert.equal((await volA.credentials()).length, 1, 'one passkey in the virtual authenticator');
  });

  await step(t, 'the invite link cannot be used twice', async () => {
    const page = (await h.newContext()).page;
    await page.goto(linkA);
    await page.getByText('This invite has already been used or has expired.').waitFor();
  });

  await step(t, 'volunteer A logs out and logs in with passphrase + passkey', async () => {
    await logout(volA.page);
    assert.equal(await status(volA.page, '/api/me'), 401);
    const before = (await volA.credentials())[0].signCount;
    await login(volA.page, VOL_A.passphrase);
    await heading(volA.page, `Hello, ${VOL_A.name}`);
    assert.ok((await volA.credentials())[0].signCount > before, 'the passkey was used');
    assert.equal(await status(volA.page, '/api/me'), 200);
  });

  await step(t, 'volunteer B joins without a passkey', async () => {
    const linkB = await invite('volunteer');
    await volB.page.goto(linkB);
    await onboard(volB.page, VOL_B, 'Create my account', path.join(h.tmp, 'b-backup.json'));
    await volB.page.getByRole('button', { name: 'Not now' }).click();
    await heading(volB.page, `Hello, ${VOL_B.name}`);
    await logout(volB.page);
    await login(volB.page, VOL_B.passphrase);
    await heading(volB.page, `Hello, ${VOL_B.name}`);
  });

  await step(t, 'admin sees the volunteers, decrypted in the browser', async () => {
    await admin.page.getByRole('link', { name: 'Volunteers' }).click();
    await heading(admin.page, 'Volunteers');
    const rowA = admin.page.locator('tr', { hasText: VOL_A.name });
    await rowA.waitFor();
    assert.match(await rowA.textContent(), new RegExp(digits(VOL_A.phone)));
    assert.equal((await rowA.locator('td[data-label="Passkeys"]').textContent()).trim(), '1');
    const rowB = admin.page.locator('tr', { hasText: VOL_B.name });
    assert.equal((await rowB.locator('td[data-label="Passkeys"]').textContent()).trim(), '0');
  });

  await step(t, 'volunteer A can toggle availability', async () => {
    const toggle = volA.page.getByRole('button', { name: 'Available for calls' });
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await toggle.click();
    await poll(async () => (await toggle.getAttribute('aria-pressed')) === 'true', { what: 'available' });
    const me = await volA.page.evaluate(() => fetch('/api/me').then((r) => r.json()));
    assert.equal(me.available, true);
  });

  await step(t, 'admin requires passkeys for volunteers', async () => {
    await admin.page.getByRole('link', { name: 'Settings' }).click();
    await heading(admin.page, 'Settings');
    await admin.page.getByLabel('Require a passkey for volunteers').check();
    await admin.page.getByRole('button', { name: 'Save' }).click();
    await admin.page.getByText('Settings saved.').waitFor();
    await admin.page.getByText('Accounts without a passkey: 1.', { exact: false }).waitFor();
    const cfg = await admin.page.evaluate(() => fetch('/api/config').then((r) => r.json()));
    assert.equal(cfg.passkeyPolicy.volunteers, true);
  });

  await step(t, 'volunteer B, who has no passkey, must add one before anything else', async () => {
    // The session B opened before the policy is held to it at once.
    assert.equal(await status(volB.page, '/api/calls'), 403);
    await logout(volB.page);
    await login(volB.page, VOL_B.passphrase);
    await heading(volB.page, 'Add a passkey');
    await volB.page.getByText(/requires a passkey\. Add one on this device to continue/).waitFor();
    assert.equal(await volB.page.getByRole('link', { name: 'Calls' }).count(), 0, 'no way around it');
    assert.equal(await status(volB.page, '/api/calls'), 403);
    await volB.page.getByRole('button', { name: 'Add a passkey' }).click();
    await heading(volB.page, `Hello, ${VOL_B.name}`);
    assert.equal((await volB.credentials()).length, 1, 'one passkey in the virtual authenticator');
    assert.equal(await status(volB.page, '/api/calls'), 200);
  });

  await step(t, 'volunteer A still logs in, with the passkey', async () => {
    await logout(volA.page);
    await login(volA.page, VOL_A.passphrase);
    await heading(volA.page, `Hello, ${VOL_A.name}`);
    await poll(() => volA.messages().some((m) => m.type === 'hello'), { what: 'hello on the WebSocket' });
  });

  await step(t, 'admin deactivates volunteer A: session refused, WebSocket closed', async () => {
    const socket = volA.sockets.at(-1);
    assert.equal(socket.closed, false);
    await admin.page.getByRole('link', { name: 'Volunteers' }).click();
    await admin.page.getByRole('button', { name: `Deactivate ${VOL_A.name}` }).click();
    await admin.page.getByRole('button', { name: `Reactivate ${VOL_A.name}` }).waitFor();
    await poll(() => socket.closed, { timeout: 5000, what: 'volunteer socket closed' });
    assert.equal(await status(volA.page, '/api/me'), 401, 'next request refused');
    await volA.page.getByText(/Your session was ended by the server/).waitFor();
    // And the key is gone from memory: the app is back at the login screen.
    await heading(volA.page, 'Log in');
    await login(volA.page, VOL_A.passphrase);
    await volA.page.getByText(/Not accepted/).waitFor();
  });

  await step(t, 'the recovery backup restores the admin key in a fresh browser', async () => {
    const fresh = (await h.newContext()).page;
    await fresh.goto(`${h.origin}/#/login`);
    await fresh.getByText('There is no key in this browser.', { exact: false }).waitFor();
    await fresh.getByRole('link', { name: 'Restore from a recovery backup' }).click();
    await heading(fresh, 'Restore your key');
    await fresh.getByLabel('Backup file').setInputFiles(adminBackup);
    await fresh.getByLabel('Recovery key').fill(adminKey.toLowerCase());
    await fresh.getByLabel('New passphrase').fill('a new device passphrase');
    await fresh.getByLabel('Repeat the passphrase').fill('a new device passphrase');
    await fresh.getByRole('button', { name: 'Restore and log in' }).click();
    await heading(fresh, `Hello, ${ADMIN.name}`);
  });

  await step(t, 'panic wipe: three Escapes leave nothing behind', async () => {
    const page = admin.page;
    await page.getByRole('link', { name: 'Home' }).click();
    await heading(page, `Hello, ${ADMIN.name}`);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await poll(async () => new URL(page.url()).hash === '#/blank', { what: 'blank screen' });
    const left = await page.evaluate(() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)].filter((k) => k.toLowerCase().startsWith('llamenos')));
    assert.deepEqual(left, []);
    assert.equal(await page.locator('body').textContent().then((s) => s.includes(ADMIN.name)), false);
    await poll(async () => (await status(page, '/api/me')) === 401, { what: 'server session ended' });
  });

  await step(t, 'names and phone numbers appear nowhere the daemon wrote', async () => {
    const canaries = [ADMIN, VOL_A, VOL_B].flatMap((w) => [w.name, w.name.split(' ')[1], digits(w.phone)]);
    assert.deepEqual(await findCanaries(h.dataDir, canaries), []);
    const out = h.daemonLog();
    for (const c of canaries) assert.ok(!out.includes(c), `daemon output contains ${c}`);
  });

  for (const c of [admin, volA, volB]) {
    const errs = c.consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of (401|403|410)/.test(e));
    assert.deepEqual(errs, [], 'no script errors in the pages');
  }
});
