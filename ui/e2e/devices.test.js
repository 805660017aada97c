// Issue 13 in a real browser: devices and passphrases, and encrypted exports.
//
// The admin changes the passphrase of their key on this device: a wrong
// current passphrase is refused, and after the change only the new one
// unlocks. A second browser context (a new device, with nothing stored)
// links itself from the admin's signed-in one: it shows a link code, the
// admin types it, the new device shows a confirmation code, and a wrong
// confirmation code typed on the admin's side is refused with nothing sent;
// the right one sends the key, and the new device logs in as the admin with
// a passphrase of its own. The used code is refused after that.
//
// The admin then answers a demo call and writes a note. The default export
// is a file sealed to the admin's key: the note's text is nowhere in it, the
// app opens it and shows the note (on the linked device too), and a file
// sealed to another key or altered by one byte shows nothing. The plain-text
// export is only offered behind an explicit warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { poll, startHarness } from './harness.js';
import { apiAs, heading, login, makeAvailable, nav, scriptErrors, setupAdmin, step, tmpFile } from './flows.js';
import { newIdentity, sealExport } from '../src/keys.js';

const ADMIN = { name: 'Dora Devices', passphrase: 'first device passphrase' };
const NEW_PASS = 'second device passphrase';
const CHANGED = 'changed passphrase here';
const NOTE = `Export-Canary-${Math.random().toString(36).slice(2, 10)}`;

// openExportFile opens a file in the Calls screen's export viewer.
async function openExportFile(page, file) {
  await page.getByLabel('Encrypted export file').setInputFiles(file);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
}

test('devices: passphrase change, linking a new device, encrypted export', { timeout: 600000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const admin = await h.newContext();
  const fresh = await h.newContext();
  const a = admin.page;
  const n = fresh.page;

  await step(t, 'admin sets up the hotline', () => setupAdmin(h, a, ADMIN));

  await step(t, 'a wrong current passphrase is refused', async () => {
    await nav(a, 'My account');
    await a.getByLabel('Current passphrase').fill('not the passphrase');
    await a.getByLabel('New passphrase').fill(CHANGED);
    await a.getByLabel('Repeat the passphrase').fill(CHANGED);
    await a.getByRole('button', { name: 'Change passphrase' }).click();
    await a.getByText('The current passphrase is wrong.').waitFor({ timeout: 60000 });
  });

  await step(t, 'the passphrase changes, and only the new one unlocks', async () => {
    await a.getByLabel('Current passphrase').fill(ADMIN.passphrase);
    await a.getByLabel('New passphrase').fill(CHANGED);
    await a.getByLabel('Repeat the passphrase').fill(CHANGED);
    await a.getByRole('button', { name: 'Change passphrase' }).click();
    await a.getByText('Passphrase changed.', { exact: false }).waitFor({ timeout: 60000 });
    await a.getByRole('button', { name: 'Lock' }).click();
    await login(a, ADMIN.passphrase);
    await a.getByText('Wrong passphrase.', { exact: false }).waitFor({ timeout: 60000 });
    await login(a, CHANGED);
    // Unlocking goes back to the screen that was locked.
    await heading(a, 'My account');
  });

  const linkCode = await step(t, 'the new device shows a link code', async () => {
    await n.goto(`${h.origin}/#/login`);
    await heading(n, 'Log in');
    await n.getByRole('link', { name: /Link this device/ }).click();
    await heading(n, 'Link this device');
    const code = (await n.locator('#link-id').textContent()).trim();
    assert.match(code, /^[A-Z2-7]{5}-[A-Z2-7]{5}$/);
    return code;
  });

  const sas = await step(t, 'the admin answers; both sides get to the confirmation code', async () => {
    await nav(a, 'My account');
    // Typed the way people type: lower case, no dash.
    await a.getByLabel('Code shown on the new device').fill(linkCode.replace('-', '').toLowerCase());
    await a.getByRole('button', { name: 'Continue' }).click();
    const shown = await poll(async () => {
      const el = n.locator('#link-sas');
      return (await el.count()) ? (await el.textContent()).replace(/\D/g, '') : null;
    }, { timeout: 30000, what: 'the confirmation code on the new device' });
    assert.match(shown, /^[0-9]{6}$/);
    await a.getByLabel('Confirmation code shown on the new device').waitFor({ timeout: 30000 });
    return shown;
  });

  await step(t, 'a wrong confirmation code is refused and nothing is sent', async () => {
    const wrong = String((Number(sas) + 1) % 1000000).padStart(6, '0');
    await a.getByLabel('Confirmation code shown on the new device').fill(wrong);
    await a.getByRole('button', { name: 'Send my key to the new device' }).click();
    await a.getByText('This is not the confirmation code this device expects.', { exact: false }).waitFor();
    // Nothing reached the server: the link still waits for the sealed key.
    const r = await apiAs(a, 'GET', `/api/links/${linkCode.replace('-', '')}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.state, 'revealed');
    assert.equal(await n.getByText('Your key arrived.', { exact: false }).count(), 0);
  });

  await step(t, 'the right code sends the key; the new device logs in with its own passphrase', async () => {
    await a.getByLabel('Confirmation code shown on the new device').fill(`${sas.slice(0, 3)} ${sas.slice(3)}`);
    await a.getByRole('button', { name: 'Send my key to the new device' }).click();
    await a.getByText('Codes matched', { exact: false }).waitFor();
    await n.getByText('Your key arrived.', { exact: false }).waitFor({ timeout: 30000 });
    await n.getByLabel('New passphrase').fill(NEW_PASS);
    await n.getByLabel('Repeat the passphrase').fill(NEW_PASS);
    await n.getByRole('button', { name: 'Save and log in' }).click();
    await heading(n, `Hello, ${ADMIN.name}`);
    const pubA = await a.evaluate(() => fetch('/api/me', { credentials: 'same-origin' }).then((r) => r.json()).then((m) => m.pubkey));
    const pubN = await n.evaluate(() => fetch('/api/me', { credentials: 'same-origin' }).then((r) => r.json()).then((m) => m.pubkey));
    assert.equal(pubN, pubA, 'the new device holds the same account key');
    // The new device's key store opens with its own passphrase only.
    await n.getByRole('button', { name: 'Lock' }).click();
    await login(n, NEW_PASS);
    await heading(n, `Hello, ${ADMIN.name}`);
  });

  await step(t, 'the used code is refused', async () => {
    await a.getByLabel('Code shown on the new device').fill(linkCode);
    await a.getByRole('button', { name: 'Continue' }).click();
    await a.getByText('No device is waiting with this code', { exact: false }).waitFor();
  });

  await step(t, 'the admin answers a demo call and writes a note', async () => {
    const me = (await apiAs(a, 'GET', '/api/me')).json;
    assert.equal((await apiAs(a, 'PUT', '/api/shifts', { rules: [], overrides: [], fallback: [me.pubkey] })).status, 200);
    await makeAvailable(a);
    await a.getByRole('button', { name: 'Simulate an incoming call' }).click();
    const card = a.locator('.ring-card');
    await card.waitFor({ timeout: 30000 });
    await card.getByRole('button', { name: 'Answer' }).click();
    const ed = a.locator('.call-panel .note-editor');
    await ed.getByLabel('What happened').fill(NOTE);
    await ed.getByRole('button', { name: 'Save note' }).click();
    await ed.getByText('Note saved.').waitFor();
    await a.locator('.call-panel').getByRole('button', { name: 'Hang up' }).click();
  });

  const sealedFile = tmpFile(h, 'sealed-export.json');
  await step(t, 'the default export is sealed, and the app opens it', async () => {
    await nav(a, 'Calls');
    const [d] = await Promise.all([a.waitForEvent('download'), a.getByRole('button', { name: 'My notes (encrypted)' }).click()]);
    assert.match(d.suggestedFilename(), /^llamenos-notes-mine-\d{4}-\d{2}-\d{2}\.sealed\.json$/);
    await d.saveAs(sealedFile);
    const text = await readFile(sealedFile, 'utf8');
    assert.ok(!text.includes(NOTE), 'the sealed export holds the note in clear');
    const doc = JSON.parse(text);
    assert.equal(doc.type, 'llamenos-notes-export-sealed');
    assert.deepEqual(Object.keys(doc).sort(), ['createdAt', 'envelope', 'type', 'version']);
    await openExportFile(a, sealedFile);
    await a.getByText('Notes in this export: 1,', { exact: false }).waitFor();
    await a.locator('#export-view').getByText(NOTE).waitFor();
  });

  await step(t, 'the linked device opens it too', async () => {
    await nav(n, 'Calls');
    await openExportFile(n, sealedFile);
    await n.locator('#export-view').getByText(NOTE).waitFor();
  });

  await step(t, 'an export sealed to another key, or altered, shows nothing', async () => {
    const other = tmpFile(h, 'other-export.json');
    await writeFile(other, sealExport(JSON.stringify({ type: 'llamenos-notes-export', notes: [] }), newIdentity().pubkey));
    await openExportFile(a, other);
    await a.getByText("This export was sealed to another account's key").waitFor();
    assert.equal(await a.locator('#export-view article').count(), 0);
    const doc = JSON.parse(await readFile(sealedFile, 'utf8'));
    const last = doc.envelope.length - 3;
    doc.envelope = doc.envelope.slice(0, last) + (doc.envelope[last] === 'A' ? 'B' : 'A') + doc.envelope.slice(last + 1);
    const altered = tmpFile(h, 'altered-export.json');
    await writeFile(altered, JSON.stringify(doc));
    await openExportFile(a, altered);
    await a.getByText('This export is damaged or was altered').waitFor();
    assert.equal(await a.locator('#export-view article').count(), 0);
    // The intact file still opens after those refusals.
    await openExportFile(a, sealedFile);
    await a.locator('#export-view').getByText(NOTE).waitFor();
  });

  await step(t, 'the plain-text export takes an explicit confirmation', async () => {
    await a.getByText('Unencrypted export').click();
    await a.getByText('The file holds the notes in plain text.', { exact: false }).waitFor();
    assert.equal(await a.getByRole('button', { name: 'My notes (JSON)' }).isDisabled(), true, 'plain text before the confirmation');
    await a.getByLabel(/I understand that this file holds the notes in plain text/).check();
    const [d] = await Promise.all([a.waitForEvent('download'), a.getByRole('button', { name: 'My notes (JSON)' }).click()]);
    await d.saveAs(tmpFile(h, 'plain-export.json'));
    const doc = JSON.parse(await readFile(tmpFile(h, 'plain-export.json'), 'utf8'));
    assert.equal(doc.type, 'llamenos-notes-export');
    assert.equal(doc.notes[0].text, NOTE);
  });

  assert.deepEqual(scriptErrors(admin), []);
  assert.deepEqual(scriptErrors(fresh), []);
});
