// The admin's morning in a real browser: after a night with one answered
// call and one abandoned in the queue (placed in the simulator), the
// dashboard counts them and names who answered; the audit log lists the
// night's entries and says up to which entry the hash chain is verified;
// filters narrow it; both screens in Spanish; a volunteer sees neither
// (no link, the route sends them home, the API refuses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poll, startHarness } from './harness.js';
import { apiAs, heading, invite, join, makeAvailable, nav, placeDemoCall, scheduleEveryoneNow, scriptErrors, setupAdmin, step } from './flows.js';

const ADMIN = { name: 'Mora Admin', passphrase: 'morning admin passphrase' };
const VOL = { name: 'Nico Night', passphrase: 'night shift passphrase' };

// stat reads one counter of a dashboard window.
async function stat(page, win, name) {
  return (await page.locator(`section[data-window="${win}"] tr[data-stat="${name}"] .stat-value`).textContent()).trim();
}

test('morning: dashboard and audit log for admins only', { timeout: 600000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const admin = await h.newContext();
  const vol = await h.newContext();
  const page = admin.page;

  await step(t, 'setup; a volunteer joins, on shift and available', async () => {
    await setupAdmin(h, page, ADMIN);
    await join(h, vol.page, await invite(page), VOL);
    await scheduleEveryoneNow(page, [VOL.name]);
    await makeAvailable(vol.page);
  });

  await step(t, 'the night: one call answered, one abandoned in the queue', async () => {
    const first = await placeDemoCall(page, 'tone');
    const card = vol.page.locator('.ring-card');
    await card.waitFor({ timeout: 30000 });
    await card.getByRole('button', { name: 'Answer' }).click();
    await vol.page.locator('.call-panel').waitFor();
    await vol.page.getByRole('button', { name: 'Hang up' }).click();
    await vol.page.locator('.call-panel .call-status', { hasText: 'You hung up.' }).waitFor({ timeout: 10000 });
    await apiAs(page, 'DELETE', `/api/demo/calls/${first.id}`);
    await vol.page.getByRole('button', { name: 'Close' }).click();
    // The volunteer is free for the next call once the first is torn
    // down, a moment after the page was told it ended.
    await poll(async () => {
      const { volunteers } = (await apiAs(page, 'GET', '/api/volunteers')).json;
      return volunteers.some((x) => x.role === 'volunteer' && x.onCall === false);
    }, { what: 'the volunteer free again' });

    const second = await placeDemoCall(page, 'tone');
    await card.waitFor({ timeout: 30000 });
    assert.equal((await apiAs(page, 'DELETE', `/api/demo/calls/${second.id}`)).status, 204);
    await card.waitFor({ state: 'detached', timeout: 10000 });
    // Each call's last record is written as it is torn down.
    await poll(async () => {
      const d = (await apiAs(page, 'GET', '/api/dashboard')).json;
      return d && d.day.offered === 2 && d.day.live === 0 && d.day.answered + d.day.abandoned === 2;
    }, { timeout: 15000, what: 'both calls recorded' });
  });

  await step(t, 'the dashboard counts them and names who answered', async () => {
    await nav(page, 'Dashboard');
    for (const win of ['day', 'week']) {
      assert.equal(await stat(page, win, 'offered'), '2', `${win}: offered`);
      assert.equal(await stat(page, win, 'answered'), '1', `${win}: answered`);
      assert.equal(await stat(page, win, 'abandoned'), '1', `${win}: abandoned`);
      assert.equal(await stat(page, win, 'missed'), '0', `${win}: missed`);
      assert.equal(await stat(page, win, 'voicemail'), '0', `${win}: voicemail`);
      assert.equal(await stat(page, win, 'other'), '0', `${win}: other`);
    }
    const day = page.locator('section[data-window="day"]');
    // The hotline takes voicemail (the default mode): 0 is a count, not "not taken".
    assert.doesNotMatch(await day.locator('tr[data-stat="voicemail"]').textContent(), /this hotline does not take voicemail/);
    assert.match(await day.locator('tr[data-stat="queueWait"]').textContent(), /calls: 2/);
    assert.match(await day.locator('tr[data-stat="ringToAnswer"]').textContent(), /calls: 1/);
    const row = day.locator('table.by-volunteer tbody tr');
    assert.equal(await row.count(), 1);
    assert.equal((await row.locator('td').first().textContent()).trim(), VOL.name, 'the name the admin\'s browser decrypted');
    assert.equal((await row.locator('td').nth(1).textContent()).trim(), '1');
    // The default build has no whisper.cpp: the dashboard says so plainly.
    assert.match(await page.locator('p[data-transcription="off"]').textContent(), /Transcription: off\..*this build has no transcription/);
  });

  await step(t, 'the audit log: the night\'s entries and the verified chain', async () => {
    await nav(page, 'Audit log');
    const v = (await apiAs(page, 'GET', '/api/audit/verify')).json;
    assert.equal(v.ok, true);
    await page.locator('#audit-chain [data-chain="ok"]', { hasText: `Chain verified up to entry ${v.entries}.` }).waitFor();
    assert.equal((await page.locator('#audit-head').textContent()).trim(), v.head);
    await page.locator('#audit-table tbody tr[data-action="call.answered"]').waitFor();
    assert.equal(await page.locator('#audit-table tbody tr[data-action="store.migrated"]').count(), 2, 'back to the first entries: the migrations to schema v1 and v2');
    const answered = page.locator('#audit-table tbody tr[data-action="call.answered"]');
    assert.match(await answered.textContent(), new RegExp(VOL.name));

    await page.getByLabel('Action').fill('call');
    await page.getByRole('button', { name: 'Apply' }).click();
    // Applying empties the table at once, then fills it with the answer.
    const actions = await poll(async () => {
      const a = await page.locator('#audit-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.action));
      return a.length > 0 && a.every((x) => x.startsWith('call.')) ? a : null;
    }, { what: 'only call entries' });
    assert.deepEqual(actions, ['call.ended', 'call.ended', 'call.answered']);
    await page.getByText(`Entries shown: ${actions.length}`).waitFor();

    await page.getByLabel('Action').fill('');
    await page.getByLabel('Who').selectOption({ label: 'The system' });
    await page.getByLabel('Concerns').selectOption('volunteer');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No entries match.').waitFor();
  });

  await step(t, 'both screens in Spanish', async () => {
    await page.getByLabel('Language').selectOption('es');
    await heading(page, 'Registro de auditoría');
    const v = (await apiAs(page, 'GET', '/api/audit/verify')).json;
    await page.getByText(`Cadena verificada hasta la entrada ${v.entries}.`).waitFor();
    await nav(page, 'Panel');
    await page.locator('section[data-window="day"] h2', { hasText: 'Últimas 24 horas' }).waitFor();
    assert.equal(await stat(page, 'day', 'answered'), '1');
    assert.match(await page.locator('section[data-window="day"] tr[data-stat="voicemail"]').textContent(), /^Buzón de voz0$/);
    await page.getByLabel('Idioma').selectOption('en');
  });

  await step(t, 'a volunteer can open neither: no link, sent home, refused by the API', async () => {
    await nav(vol.page, 'Home', /^Hello, /);
    const links = await vol.page.getByRole('navigation').getByRole('link').allTextContents();
    assert.ok(!links.includes('Dashboard') && !links.includes('Audit log'), `volunteer links: ${links}`);
    for (const hash of ['#/admin/audit', '#/admin/dashboard']) {
      await vol.page.evaluate((hh) => { location.hash = hh; }, hash);
      await poll(async () => (await vol.page.evaluate(() => location.hash)) === '#/', { what: `${hash} sends the volunteer home` });
      await heading(vol.page, `Hello, ${VOL.name}`);
      assert.equal(await vol.page.locator('#audit-table, section[data-window]').count(), 0);
    }
    for (const path of ['/api/audit', '/api/audit/verify', '/api/dashboard']) {
      assert.equal((await apiAs(vol.page, 'GET', path)).status, 403, path);
    }
  });

  for (const c of [admin, vol]) assert.deepEqual(scriptErrors(c), [], 'no script errors in the pages');
});
