// The admin side of issues 6 and 7 in a real browser: the live panel and
// the demo button, "report and ban" from the call panel, the ban list
// (numbers decrypted, typed bans, lifting), shifts with date changes, the
// fields editor by keyboard alone, note export as JSON and CSV, Spanish,
// and every new screen at 360 px without sideways scrolling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { poll, startHarness } from './harness.js';
import { apiAs, callerNumberIn, heading, invite, join, makeAvailable, nav, scriptErrors, setupAdmin, step, tmpFile } from './flows.js';

const ADMIN = { name: 'Dana Admin', passphrase: 'admin screens passphrase' };
const VOL = { name: 'Vera Volunteer', passphrase: 'volunteer screens pass' };
const NOTE = `Export-Canary-${Date.now()}`;

async function noSidewaysScroll(page, what) {
  const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(sw <= cw + 1, `${what}: ${sw}px wide in a ${cw}px viewport`);
}

test('admin: live, demo, report and ban, bans, shifts, fields by keyboard, export, 360 px', { timeout: 900000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const admin = await h.newContext();
  const vol = await h.newContext();
  const page = admin.page;

  await step(t, 'setup, a volunteer joins', async () => {
    await setupAdmin(h, page, ADMIN);
    await join(h, vol.page, await invite(page), VOL);
  });

  await step(t, 'the fields editor works with the keyboard alone', async () => {
    await nav(page, 'Note fields');
    const add = page.getByRole('button', { name: 'Add a field' });
    await add.focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.labels[0].textContent), 'Label', 'focus on the new field\'s label');
    await page.keyboard.type('First field');
    await add.focus();
    await page.keyboard.press('Enter');
    await page.keyboard.type('Second field');
    // The key follows the label while the field is new.
    assert.equal(await page.locator('ol.field-defs > li').nth(1).getByLabel('Key').inputValue(), 'second_field');
    const up = page.getByRole('button', { name: 'Move Second field up' });
    await up.focus();
    await page.keyboard.press('Enter');
    await poll(async () => (await page.locator('ol.field-defs > li legend').first().textContent()) === 'Second field', { what: 'moved up' });
    assert.match(await page.evaluate(() => document.activeElement.getAttribute('aria-label') || ''), /Move Second field (up|down)/, 'focus stays on the moved field\'s buttons');
    await page.getByRole('button', { name: 'Remove First field' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Save', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('Fields saved.').waitFor();
    assert.deepEqual((await apiAs(page, 'GET', '/api/fields')).json.fields.map((f) => f.id), ['second_field']);
    // Saved keys are fixed.
    assert.equal(await page.locator('ol.field-defs > li').first().getByLabel('Key').getAttribute('readonly'), '');
  });

  await step(t, 'shifts: a weekly shift and a date change, saved and shown again', async () => {
    await nav(page, 'Shifts');
    await page.getByText(/^Times are in the hotline's time zone, /).waitFor();
    await page.getByRole('button', { name: 'Add a shift' }).click();
    const rule = page.locator('fieldset.shift-rule').last();
    await rule.getByLabel('Name').fill('Night line');
    await rule.getByLabel('Saturday', { exact: true }).check();
    await rule.getByLabel('Starts').fill('22:00');
    await rule.getByLabel('Ends').fill('06:00');
    await rule.getByText('Ends the next day (overnight).').waitFor();
    await rule.getByLabel(VOL.name, { exact: true }).check();
    await page.getByRole('button', { name: 'Add a change for a date' }).click();
    const ov = page.locator('fieldset.override').last();
    await ov.getByLabel('Date').fill('2030-01-05');
    await ov.getByLabel('Shift', { exact: true }).selectOption({ label: 'Night line' });
    await ov.getByLabel('Change', { exact: true }).selectOption('substitute');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Choose at least one volunteer.').waitFor();
    await page.locator('fieldset.override').last().getByLabel(ADMIN.name, { exact: true }).check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Shifts saved.').waitFor();
    const s = (await apiAs(page, 'GET', '/api/shifts')).json;
    assert.equal(s.rules.length, 1);
    assert.equal(s.rules[0].name, 'Night line');
    assert.equal(s.rules[0].start, '22:00');
    assert.equal(s.rules[0].end, '06:00');
    assert.ok(s.rules[0].days.includes(6), 'Saturday is 6');
    assert.equal(s.overrides[0].kind, 'substitute');
    assert.equal(s.overrides[0].ruleId, s.rules[0].id);
    await nav(page, 'Home', /^Hello, /);
    await nav(page, 'Shifts');
    assert.equal(await page.locator('fieldset.shift-rule').first().getByLabel('Name').inputValue(), 'Night line');
  });

  let callId;
  await step(t, 'demo: the admin, available, is rung; the live panel shows the call', async () => {
    // Everyone in the fallback group, so the admin is rung whatever the time.
    const s = (await apiAs(page, 'GET', '/api/shifts')).json;
    const me = (await apiAs(page, 'GET', '/api/me')).json;
    const r = await apiAs(page, 'PUT', '/api/shifts', { rules: s.rules, overrides: s.overrides, fallback: [me.pubkey] });
    assert.equal(r.status, 200);
    await makeAvailable(page);
    await page.getByRole('button', { name: 'Simulate an incoming call' }).click();
    const card = page.locator('.ring-card');
    await card.waitFor({ timeout: 30000 });
    callId = await card.getAttribute('data-call-id');
    await page.locator(`#presence`).waitFor();
    await page.locator(`tr[data-call-id="${callId}"]`, { hasText: 'Ringing' }).waitFor();
    await card.getByRole('button', { name: 'Answer' }).click();
    await page.locator('.call-panel').waitFor();
    await page.locator(`tr[data-call-id="${callId}"]`, { hasText: 'Connected' }).waitFor();
  });

  await step(t, 'a note, then report and ban from the call panel', async () => {
    const ed = page.locator('.call-panel .note-editor');
    await ed.getByLabel('What happened').fill(NOTE);
    await ed.getByRole('button', { name: 'Save note' }).click();
    await ed.getByText('Note saved.').waitFor();
    await page.locator('.call-panel').getByRole('button', { name: 'Report and ban' }).click();
    const dlg = page.getByRole('dialog', { name: 'Report and ban this caller?' });
    await dlg.waitFor();
    await dlg.getByLabel('Reason (optional)').fill('Abusive, repeated');
    await dlg.getByRole('button', { name: 'Report and ban' }).click();
    await page.locator('.call-panel .call-status', { hasText: 'The call ended: the caller was banned.' }).waitFor({ timeout: 10000 });
    await page.getByRole('button', { name: 'Close' }).click();
  });

  let number;
  await step(t, 'the ban list shows the number decrypted, from the call, with its reason', async () => {
    await nav(page, 'Calls');
    number = await callerNumberIn(page, callId);
    assert.match(number, /^\+\d{8,15}$/);
    await nav(page, 'Bans');
    const row = page.locator('tbody tr', { hasText: number });
    await row.waitFor();
    assert.match(await row.textContent(), /Abusive, repeated/);
    assert.match(await row.textContent(), /Reported from a call/);
  });

  await step(t, 'a typed ban: refused when malformed, normalised, then lifted', async () => {
    await page.getByLabel('Number', { exact: true }).fill('600 11 22 33');
    await page.getByRole('button', { name: 'Ban this number' }).click();
    await page.getByText(/Type the number in international format/).waitFor();
    await page.getByLabel('Number', { exact: true }).fill('+34 600 (11) 22-33');
    await page.getByRole('button', { name: 'Ban this number' }).click();
    await page.getByText('The number was banned.').waitFor();
    const row = page.locator('tbody tr', { hasText: '+34600112233' });
    await row.waitFor();
    assert.match(await row.textContent(), /Typed by an admin/);
    await row.getByRole('button', { name: 'Lift the ban on +34600112233' }).click();
    const dlg = page.getByRole('dialog', { name: 'Lift this ban?' });
    await dlg.getByRole('button', { name: 'Lift ban' }).click();
    await poll(async () => (await page.locator('tbody tr', { hasText: '+34600112233' }).count()) === 0, { what: 'ban lifted' });
    assert.equal((await apiAs(page, 'GET', '/api/bans')).json.bans.length, 1);
  });

  await step(t, 'export: my notes as JSON and CSV, decrypted in the browser', async () => {
    await nav(page, 'Calls');
    // A plain-text export is only behind a warning (the default is sealed: devices.test.js).
    await page.getByText('Unencrypted export').click();
    await page.getByLabel(/I understand that this file holds the notes in plain text/).check();
    const [dj] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'My notes (JSON)' }).click()]);
    assert.match(dj.suggestedFilename(), /^llamenos-notes-mine-\d{4}-\d{2}-\d{2}\.json$/);
    await dj.saveAs(tmpFile(h, 'export.json'));
    const doc = JSON.parse(await readFile(tmpFile(h, 'export.json'), 'utf8'));
    assert.equal(doc.type, 'llamenos-notes-export');
    assert.equal(doc.notes.length, 1);
    assert.equal(doc.notes[0].text, NOTE);
    assert.equal(doc.notes[0].callId, callId);
    assert.equal(doc.notes[0].authorName, ADMIN.name);
    await page.getByText('Notes exported: 1.').waitFor();
    const [dc] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'All notes (CSV)' }).click()]);
    await dc.saveAs(tmpFile(h, 'export.csv'));
    const csv = await readFile(tmpFile(h, 'export.csv'), 'utf8');
    assert.ok(csv.startsWith('\uFEFFnote_id,call_id,author,author_name,created_at,updated_at,revision,text,Second field,other_fields,error\r\n'));
    assert.ok(csv.includes(NOTE));
  });

  await step(t, 'the volunteer sees no call they did not answer', async () => {
    await nav(vol.page, 'Calls');
    await vol.page.getByText('No calls.').waitFor();
    assert.equal((await apiAs(vol.page, 'GET', `/api/calls/${callId}`)).status, 404);
  });

  await step(t, 'every new screen fits 360 px; Spanish', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    for (const [link, title] of [['Home', /^Hello, /], ['Calls', 'Calls'], ['Shifts', 'Shifts'], ['Note fields', 'Note fields'], ['Bans', 'Bans']]) {
      await nav(page, link, title);
      await noSidewaysScroll(page, link);
    }
    await page.locator(`tr[data-call-id]`).first().waitFor({ state: 'attached' }).catch(() => {});
    await nav(page, 'Calls');
    await page.locator(`tr[data-call-id="${callId}"]`).getByRole('link').click();
    await heading(page, 'Call');
    await noSidewaysScroll(page, 'call page');
    await page.getByLabel('Language').selectOption('es');
    await heading(page, 'Llamada');
    await page.getByText('Notas', { exact: true }).waitFor();
    await nav(page, 'Campos de notas');
    await nav(page, 'Bloqueos');
    await page.getByLabel('Idioma').selectOption('en');
  });

  for (const c of [admin, vol]) assert.deepEqual(scriptErrors(c), [], 'no script errors in the pages');
});
