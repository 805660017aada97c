// Caller prompts in a real browser: an admin enables Spanish, listens to
// the shipped prompts, replaces the Spanish greeting with a recording that
// Chromium converts (44.1 kHz stereo to 8 kHz mono), sees bad files refused
// with a clear message, goes back to the shipped recording, and finds both
// changes in the audit log; the screen fits a 390 px phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { poll, startHarness } from './harness.js';
import { apiAs, nav, scriptErrors, setupAdmin, step, tmpFile } from './flows.js';

const ADMIN = { name: 'Pia Prompts', passphrase: 'prompts screen passphrase' };

// wav: seconds of a 440 Hz tone, 16-bit PCM, at rate Hz with channels.
function wav(seconds, rate, channels, amp) {
  const frames = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + frames * channels * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + frames * channels * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * channels * 2, 28);
  b.writeUInt16LE(channels * 2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(frames * channels * 2, 40);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(amp * 32767 * Math.sin((2 * Math.PI * 440 * i) / rate));
    for (let c = 0; c < channels; c++) b.writeInt16LE(v, 44 + (i * channels + c) * 2);
  }
  return b;
}

test('prompts: listen, replace, refuse bad files, revert, audit, 390 px', { timeout: 600000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const admin = await h.newContext();
  const page = admin.page;
  const shippedEs = await readFile(path.join(h.dataDir, 'sounds', 'es', 'llamenos', 'greeting.ulaw'));

  await step(t, 'setup, Spanish enabled', async () => {
    await setupAdmin(h, page, ADMIN);
    await nav(page, 'Settings');
    await page.getByLabel('Español').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Settings saved.').waitFor();
    await nav(page, 'Dashboard');
    await nav(page, 'Settings');
  });

  const row = page.locator('[data-prompt="greeting"][data-lang="es"]');
  const file = row.getByLabel('Replace with a recording');

  await step(t, 'both languages list every prompt, with the shipped recordings', async () => {
    await page.getByRole('heading', { level: 2, name: 'Caller prompts' }).waitFor();
    for (const lang of ['en', 'es']) {
      assert.equal(await page.locator(`.prompt[data-lang="${lang}"]`).count(), 10, `${lang} prompts`);
    }
    await row.getByText(/^Shipped recording, \d+\.\d s$/).waitFor();
    // The player loads the recording Asterisk plays, as WAV.
    const r = await page.evaluate(async () => {
      const res = await fetch('/api/prompts/es/greeting', { credentials: 'same-origin' });
      return { status: res.status, type: res.headers.get('content-type'), size: (await res.arrayBuffer()).byteLength };
    });
    assert.deepEqual(r, { status: 200, type: 'audio/wav', size: 44 + 2 * shippedEs.length });
    assert.equal(await row.locator('audio').count(), 1);
  });

  await step(t, 'bad files are refused with a clear message, and nothing changes', async () => {
    const cases = [
      ['not-audio.wav', Buffer.from('this is a text file, not a recording\n'), /not a recording this browser can read/],
      ['silent.wav', wav(2, 8000, 1, 0), /This recording is silent/],
      ['too-long.wav', wav(61, 8000, 1, 0.3), /lasts 61\.0 s; a prompt must last 0\.5 to 60 seconds/],
    ];
    for (const [name, body, msg] of cases) {
      const p = tmpFile(h, name);
      await writeFile(p, body);
      await file.setInputFiles(p);
      await row.getByRole('status').getByText(msg).waitFor();
    }
    assert.deepEqual(await readFile(path.join(h.dataDir, 'sounds', 'es', 'llamenos', 'greeting.ulaw')), shippedEs);
    // The daemon refuses what the page would not send, too.
    const refused = await page.evaluate(async () => {
      const res = await fetch('/api/prompts/es/greeting', { method: 'PUT', credentials: 'same-origin', headers: { 'Content-Type': 'audio/wav' }, body: 'RIFF....WAVE' });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'bad_recording');
  });

  await step(t, 'a 44.1 kHz stereo recording becomes the Spanish greeting', async () => {
    const p = tmpFile(h, 'greeting.wav');
    await writeFile(p, wav(2, 44100, 2, 0.3));
    await file.setInputFiles(p);
    await row.getByText('Saved. Callers now hear your recording.').waitFor();
    await row.getByText('Your recording, 2.0 s').waitFor();
    // Where Asterisk reads it: 2 s of 8 kHz µ-law.
    const written = await readFile(path.join(h.dataDir, 'sounds', 'es', 'llamenos', 'greeting.ulaw'));
    assert.equal(written.length, 16000);
    assert.notDeepEqual(written, shippedEs);
    const list = await apiAs(page, 'GET', '/api/prompts');
    const states = list.json.prompts.filter((x) => x.state === 'custom').map((x) => `${x.lang}/${x.name}`);
    assert.deepEqual(states, ['es/greeting']);
  });

  await step(t, 'back to the shipped recording', async () => {
    await row.getByRole('button', { name: 'Use the shipped recording' }).click();
    await row.getByText('Callers hear the shipped recording again.').waitFor();
    await row.getByText(/^Shipped recording, \d+\.\d s$/).waitFor();
    assert.deepEqual(await readFile(path.join(h.dataDir, 'sounds', 'es', 'llamenos', 'greeting.ulaw')), shippedEs);
    assert.equal(await row.getByRole('button', { name: 'Use the shipped recording' }).count(), 0);
  });

  await step(t, 'the audit log has both changes', async () => {
    const r = await poll(async () => {
      const a = await apiAs(page, 'GET', '/api/audit?action=prompt');
      return a.json && a.json.entries && a.json.entries.length >= 2 ? a : null;
    }, { what: 'prompt audit entries' });
    assert.deepEqual(r.json.entries.map((e) => `${e.action} ${e.subjects.join(',')}`), ['prompt.reverted prompt:es.greeting', 'prompt.replaced prompt:es.greeting']);
  });

  await step(t, 'the settings screen fits a 390 px phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await nav(page, 'Dashboard');
    await nav(page, 'Settings');
    await page.getByRole('heading', { level: 2, name: 'Caller prompts' }).waitFor();
    const [sw, cw, wide] = await page.evaluate(() => {
      const cw = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > cw + 1).slice(0, 5).map((e) => e.tagName + '.' + e.className);
      return [document.documentElement.scrollWidth, cw, wide];
    });
    assert.ok(sw <= cw + 1, `${sw}px wide in a ${cw}px viewport: ${wide.join(', ')}`);
  });

  // The one 422 is the refusal asked for above.
  assert.deepEqual(scriptErrors(admin).filter((e) => !/status of 422/.test(e)), []);
});
