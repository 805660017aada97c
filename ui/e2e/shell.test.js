// The app shell in a real browser: keyboard-only use, focus on the heading
// after each route change, the language picker, the locked state after a
// reload, logout wiping drafts, and the security headers the app runs under.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poll, startHarness } from './harness.js';

const PASS = 'keyboard only passphrase';

// tabTo presses Tab until the focused element matches the predicate
// (evaluated in the page), failing after `max` presses.
async function tabTo(page, predicateSource, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(predicateSource)) return;
  }
  throw new Error(`focus never reached: ${predicateSource}`);
}

const focusedLabel = `(() => { const el = document.activeElement; return el && el.labels && el.labels[0] ? el.labels[0].textContent : (el ? el.textContent : ''); })()`;

test('shell: keyboard, focus, language, reload lock, logout', { timeout: 300000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const { page } = await h.newContext();

  const res = await page.goto(h.setupURL);
  const headers = res.headers();
  assert.match(headers['content-security-policy'] || '', /script-src 'self'/);
  assert.doesNotMatch(headers['content-security-policy'] || '', /unsafe-inline/);

  // Setup with the keyboard only.
  await page.getByRole('heading', { level: 1, name: 'Set up the hotline' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1', 'focus starts on the heading');
  await tabTo(page, `${focusedLabel}.startsWith('Your name')`);
  await page.keyboard.type('Kiko Keyboard');
  await tabTo(page, `${focusedLabel} === 'Passphrase'`);
  await page.keyboard.type(PASS);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(focusedLabel), 'Repeat the passphrase');
  await page.keyboard.type(PASS);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Save your recovery backup' }).waitFor({ timeout: 60000 });
  await tabTo(page, `${focusedLabel}.startsWith('I have saved')`);
  await page.keyboard.press('Space');
  await tabTo(page, `document.activeElement.textContent === 'Continue'`);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Hello, Kiko Keyboard' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Hello, Kiko Keyboard', 'focus moved to the new heading');

  // Navigation by keyboard moves focus to each screen's heading.
  await tabTo(page, `document.activeElement.textContent === 'My account'`);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'My account' }).waitFor();
  await poll(() => page.evaluate(() => document.activeElement.tagName === 'H1'), { what: 'focus on heading' });

  // The focused element always shows a visible outline.
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');

  // Language: Spanish, remembered, <html lang> follows.
  await page.getByLabel('Language').selectOption('es');
  await page.getByRole('heading', { level: 1, name: 'Mi cuenta' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'es');

  // A reload keeps the session cookie but not the key: locked, in Spanish.
  await page.evaluate(() => localStorage.setItem('llamenos.draft.call-1', 'sealed draft'));
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Bloqueado' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'es');
  await page.getByLabel('Frase de contraseña', { exact: true }).fill(PASS);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Mi cuenta' }).waitFor();
  await page.getByLabel('Idioma').selectOption('en');

  // Logout: drafts go; the key store, preferences and the pinned admin set
  // (public keys and digests) stay.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
  const keys = await page.evaluate(() => Object.keys(localStorage).sort());
  assert.deepEqual(keys, ['llamenos.adminset', 'llamenos.keystore', 'llamenos.prefs']);
  assert.equal(await page.evaluate(() => fetch('/api/me').then((r) => r.status)), 401);

  // Unknown routes say so, with a way home.
  await page.goto(`${h.origin}/#/no/such/page`);
  await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
});
