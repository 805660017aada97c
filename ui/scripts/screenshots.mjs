// Screenshots for docs/ui.md: the ring, the call in progress, the admins'
// dashboard and the audit log, at 1280 px and 390 px wide, taken from the
// demo daemon in Chromium with the e2e harness (so `make screenshots`
// needs what `make e2e` needs). Writes PNGs into the directory given
// (default ../docs/images). The people in them are made up.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdir } from 'node:fs/promises';
import { poll, startHarness } from '../e2e/harness.js';
import { apiAs, invite, join, makeAvailable, nav, scheduleEveryoneNow, setupAdmin } from '../e2e/flows.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, '../../docs/images'));
const ADMIN = { name: 'Dana Coordinator', passphrase: 'screenshot admin passphrase' };
const VOL = { name: 'Vera Volunteer', passphrase: 'screenshot volunteer passphrase' };
const WIDTHS = [
  [1280, 800],
  [390, 844],
];

async function shoot(page, name) {
  for (const [width, height] of WIDTHS) {
    await page.setViewportSize({ width, height });
    // Let the layout settle at the new width before the picture.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const file = path.join(out, `${name}-${width}.png`);
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

async function main() {
  await mkdir(out, { recursive: true });
  const h = await startHarness();
  try {
    const admin = await h.newContext();
    const vol = await h.newContext();
    await setupAdmin(h, admin.page, ADMIN);
    await join(h, vol.page, await invite(admin.page), VOL);
    await scheduleEveryoneNow(admin.page, [VOL.name]);
    await makeAvailable(vol.page);
    await poll(async () => (await apiAs(vol.page, 'GET', '/api/me')).json.onShift === true, { what: 'on shift' });
    await vol.page.locator('#ring-state[data-state="ringable"]').waitFor();

    // An earlier call nobody took, so the dashboard has something to show.
    const missed = await apiAs(admin.page, 'POST', '/api/demo/calls', { audio: 'voice' });
    await vol.page.locator('.ring-card').waitFor({ timeout: 30000 });
    await vol.page.locator('.ring-card').getByRole('button', { name: 'Decline' }).click();
    await apiAs(admin.page, 'DELETE', `/api/demo/calls/${missed.json.id}`);
    await vol.page.locator('.ring-card').waitFor({ state: 'detached' });

    const call = await apiAs(admin.page, 'POST', '/api/demo/calls', { audio: 'voice' });
    await vol.page.locator('.ring-card').waitFor({ timeout: 30000 });
    await shoot(vol.page, 'ring');

    await vol.page.setViewportSize({ width: 1280, height: 800 });
    await vol.page.locator('.ring-card').getByRole('button', { name: 'Answer' }).click();
    await vol.page.locator('.call-media[data-state="connected"]').waitFor({ timeout: 30000 });
    await shoot(vol.page, 'in-call');
    await apiAs(admin.page, 'DELETE', `/api/demo/calls/${call.json.id}`);

    await admin.page.setViewportSize({ width: 1280, height: 800 });
    await nav(admin.page, 'Dashboard');
    await poll(async () => (await apiAs(admin.page, 'GET', '/api/calls')).json.calls?.length >= 2, { what: 'two call records', timeout: 30000 });
    await nav(admin.page, 'Audit log');
    await nav(admin.page, 'Dashboard');
    await shoot(admin.page, 'dashboard');
    await nav(admin.page, 'Audit log');
    await admin.page.locator('#audit-chain [data-chain="ok"]').waitFor();
    await shoot(admin.page, 'audit');
  } finally {
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
