// What a newcomer meets first, in a real browser against `llamenos demo`:
// the security headers draw no console warning; the setup form shows all
// its problems at once; the recovery backup cannot be skipped in one click
// and the navigation waits for it; the Shifts page says who a call rings;
// the date filters follow the app's language; the Spanish header fits at
// 1280 px and 390 px; the login screen prints no "null"; the demo's "make
// the caller hang up" survives a visit to another screen; and a page
// opened at another address is told which one to open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { poll, startHarness } from './harness.js';
import { heading, invite, join, makeAvailable, nav, step } from './flows.js';

const ADMIN = { name: 'Ada Admin', passphrase: 'ux admin passphrase' };
const VOL = { name: 'Vera Volunteer', passphrase: 'ux volunteer passphrase' };

// headerLayout measures the header: rows of the tools (connection, lock,
// log out, language) and whether the hotline's name shares theirs, rows of the navigation, anything wider than the
// window, any link or button whose own text wraps.
function headerLayout(page) {
  return page.evaluate(() => {
    const header = document.getElementById('site-header');
    const rowsOf = (els) => {
      const rows = [];
      for (const r of els.map((el) => el.getBoundingClientRect())) {
        if (!rows.some((x) => r.top < x.bottom && r.bottom > x.top)) rows.push(r);
      }
      return rows.length;
    };
    const visible = (sel) => [...header.querySelectorAll(sel)].filter((el) => el.getClientRects().length > 0);
    const tools = visible('.conn, button, .lang select');
    const brand = header.querySelector('.brand').getBoundingClientRect();
    const mid = (r) => (r.top + r.bottom) / 2;
    const links = visible('nav a');
    const oneLine = (el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      return range.getClientRects().length <= 1;
    };
    return {
      docWidth: document.documentElement.scrollWidth,
      headerOverflow: header.scrollWidth - header.clientWidth,
      outside: [...tools, ...links].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5).map((el) => el.textContent),
      toolRows: rowsOf(tools),
      brandWithTools: tools.every((el) => Math.abs(mid(el.getBoundingClientRect()) - mid(brand)) < brand.height),
      navRows: rowsOf(links),
      links: links.length,
      wrapped: [...links, ...visible('.tools button')].filter((el) => !oneLine(el)).map((el) => el.textContent),
    };
  });
}

// proxy forwards to the daemon with the public Host, as a reverse proxy
// whose public name nobody told the daemon would: the page's origin is the
// proxy's, not the hotline's.
function startProxy(port, publicHost) {
  const srv = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: { ...req.headers, host: publicHost } }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

test('ux: a newcomer\'s first steps, in English and Spanish', { timeout: 600000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const admin = await h.newContext();
  const { page } = admin;
  const warnings = [];
  page.on('console', (msg) => {
    if (msg.type() === 'warning' || msg.type() === 'error') warnings.push(msg.text());
  });

  await step(t, 'the security headers draw no console warning', async () => {
    await page.goto(h.setupURL);
    await heading(page, 'Set up the hotline');
    // The header is parsed with the document; its warnings are logged then.
    await page.reload();
    await heading(page, 'Set up the hotline');
    assert.deepEqual(warnings.filter((w) => /Permissions-Policy|Feature-Policy/i.test(w)), []);
  });

  await step(t, 'the setup form shows every problem at once', async () => {
    await page.getByLabel('Passphrase', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Create admin account' }).click();
    await page.getByText('Enter a name.').waitFor();
    assert.equal(await page.getByText('The passphrase must have at least 8 characters.').isVisible(), true, 'the passphrase problem shows with the name problem');
    assert.equal(await page.evaluate(() => document.activeElement.name), 'name', 'focus on the first problem');
  });

  await step(t, 'the recovery backup is not skipped in one click, and the navigation waits', async () => {
    await page.getByLabel('Your name').fill(ADMIN.name);
    await page.getByLabel('Passphrase', { exact: true }).fill(ADMIN.passphrase);
    await page.getByLabel('Repeat the passphrase').fill(ADMIN.passphrase);
    await page.getByRole('button', { name: 'Create admin account' }).click();
    await page.getByRole('heading', { name: 'Save your recovery backup' }).waitFor({ timeout: 60000 });
    await page.locator('#recovery-key').waitFor();
    assert.equal(await page.getByRole('navigation').count(), 0, 'no navigation during the backup step');
    await page.getByRole('button', { name: 'Skip for now' }).click();
    await page.getByRole('button', { name: 'Continue without a backup' }).click();
    await page.getByText('Tick “I understand” to continue without a backup').waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Save your recovery backup' }).isVisible(), true, 'still on the backup step');
    assert.equal(await page.getByRole('navigation').count(), 0);
    await page.getByLabel(/I understand: without a backup/).check();
    await page.getByRole('button', { name: 'Continue without a backup' }).click();
    await heading(page, `Hello, ${ADMIN.name}`);
    await page.getByRole('navigation').waitFor();
  });

  await step(t, 'the Shifts page says who a call rings', async () => {
    await nav(page, 'Shifts');
    const text = await page.locator('#who-rings').textContent();
    assert.match(text, /every available volunteer/);
    assert.doesNotMatch(text, /fallback group \(/);
  });

  await step(t, '"make the caller hang up" survives a visit to another screen', async () => {
    await makeAvailable(page);
    await page.getByRole('button', { name: 'Simulate an incoming call' }).click();
    const hangup = page.getByRole('button', { name: 'Make the caller hang up' });
    await hangup.waitFor();
    await nav(page, 'Calls');
    await nav(page, 'Home', /^Hello, /);
    await hangup.waitFor();
    await hangup.click();
    await page.getByText('The pretend caller hung up.').waitFor();
    await poll(async () => !(await hangup.isVisible()), { what: 'the button gone once used' });
  });

  await step(t, 'the date filters follow the language and look like the other fields', async () => {
    await page.getByLabel('Language').selectOption('es');
    await nav(page, 'Llamadas');
    const from = page.getByLabel('Desde', { exact: true });
    assert.equal(await from.getAttribute('placeholder'), 'DD/MM/AAAA');
    // Styled as the other fields of the form (the volunteer select), not
    // left to the browser's default look.
    const look = await page.evaluate(() => {
      const style = (el) => { const c = getComputedStyle(el); return { border: `${c.borderTopStyle} ${c.borderTopWidth} ${c.borderTopColor}`, radius: c.borderRadius, font: c.fontSize, padding: c.paddingLeft }; };
      return { date: style(document.querySelector('input[name="from"]')), select: style(document.querySelector('#calls-volunteer')) };
    });
    assert.deepEqual(look.date, look.select);
    await from.fill('31/02/2026');
    await page.getByRole('button', { name: 'Aplicar' }).click();
    await page.getByText('No es una fecha: escríbela como DD/MM/AAAA.').first().waitFor();
    await from.fill('01/02/2026');
    await page.getByLabel('Hasta', { exact: true }).fill('28/02/2026');
    await page.getByRole('button', { name: 'Aplicar' }).click();
    await poll(async () => (await page.getByText('No es una fecha').count()) === 0, { what: 'the error gone' });
  });

  await step(t, 'the Spanish header fits at 1280 px and at 390 px', async () => {
    await nav(page, 'Inicio', /^Hola, /);
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const l = await headerLayout(page);
      t.diagnostic(`header at ${width} px: ${JSON.stringify(l)}`);
      if (process.env.LLAMENOS_E2E_SHOTS) await page.screenshot({ path: `${process.env.LLAMENOS_E2E_SHOTS}/header-es-${width}.png` });
      assert.ok(l.links >= 9, `the admin's links are there: ${l.links}`);
      assert.ok(l.docWidth <= width, `the page scrolls sideways at ${width} px: ${l.docWidth}`);
      assert.ok(l.headerOverflow <= 0, `the header overflows at ${width} px`);
      assert.deepEqual(l.outside, [], `items past the right edge at ${width} px`);
      assert.deepEqual(l.wrapped, [], `links or buttons whose text wraps at ${width} px`);
      assert.equal(l.toolRows, 1, `the tools take one row at ${width} px`);
      if (width >= 1280) {
        assert.equal(l.brandWithTools, true, 'the name and the tools share a row at 1280 px');
        assert.equal(l.navRows, 1, 'the navigation takes one row at 1280 px');
      }
    }
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.getByLabel('Idioma').selectOption('en');
  });

  await step(t, 'a page at another address is told which one to open', async () => {
    // Another name for the same port: the daemon names the public address.
    const direct = await h.newContext();
    const res = await direct.page.goto(`http://127.0.0.1:${new URL(h.origin).port}/`);
    assert.equal(res.status(), 421);
    assert.ok((await direct.page.textContent('body')).includes(`This hotline is at ${h.origin}; open that address instead.`));
    // Through a proxy that keeps the public Host: the app loads, and the
    // first state-changing request is refused with the address to open.
    const proxy = await startProxy(new URL(h.origin).port, new URL(h.origin).host);
    t.after(() => new Promise((r) => proxy.close(r)));
    const link = new URL(await invite(page));
    const proxied = `http://127.0.0.1:${proxy.address().port}/${link.hash}`;
    await direct.page.goto(proxied);
    await heading(direct.page, 'Join the hotline');
    await direct.page.getByLabel('Your name').fill(VOL.name);
    await direct.page.getByLabel('Passphrase', { exact: true }).fill(VOL.passphrase);
    await direct.page.getByLabel('Repeat the passphrase').fill(VOL.passphrase);
    await direct.page.getByRole('button', { name: 'Create my account' }).click();
    const msg = direct.page.getByText(`this hotline answers only at ${h.origin}`);
    await msg.waitFor();
    assert.ok((await msg.textContent()).includes(`Open ${h.origin} in this browser`));
    // The invite was not used up: it still works at the right address.
    await join(h, direct.page, link.href, VOL);
  });

  await step(t, 'the login screen prints no "null"', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await heading(page, 'Log in');
    await page.getByRole('link', { name: 'Restore from a recovery backup' }).waitFor();
    assert.doesNotMatch(await page.locator('main').innerText(), /\bnull\b|\bundefined\b/);
    // And with no key in the browser.
    const fresh = await h.newContext();
    await fresh.page.goto(`${h.origin}/#/login`);
    await heading(fresh.page, 'Log in');
    assert.doesNotMatch(await fresh.page.locator('main').innerText(), /\bnull\b|\bundefined\b/);
  });

  assert.deepEqual(warnings.filter((w) => /Permissions-Policy|Feature-Policy/i.test(w)), []);
});
