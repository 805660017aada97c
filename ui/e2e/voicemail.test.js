// Voicemail end to end, against `llamenos demo --test-transcriber`: nobody
// is on shift, so the simulator's pretend caller goes straight to
// voicemail and "says" 600 Hz for a second, then 1200 Hz for a second, then
// nothing. The daemon captures it through externalMedia and its relay,
// seals it to the admin and has the test transcriber (which hears tones)
// transcribe it. In the admin's real browser: the voicemail is listed as
// new with its length and language, the transcript names both tones, and
// the player decrypts the µ-law and plays it through WebAudio, where an
// analyser hears 600 Hz and then 1200 Hz. Marking it handled moves it to
// the handled list and is audited. Last, with the daemon stopped, the raw
// µ-law the caller sent (taken from the admin's own decryption of the
// voicemail) is searched for in the data directory, the daemon's TMPDIR
// and everything it printed: it is in none of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { filesUnder, poll, startHarness } from './harness.js';
import { apiAs, heading, nav, placeDemoCall, scriptErrors, setupAdmin, step } from './flows.js';
import { openBytes, unlockKeyStore } from '../src/keys.js';
import { KEYSTORE_ITEM } from '../src/crypto/index.js';
import { audioContext } from '../src/voicemail.js';

const ADMIN = { name: 'Vera Admin', passphrase: 'admin voicemail passphrase' };
const CALLER = '+34655' + String(Math.floor(Math.random() * 1e6)).padStart(6, '0');

test('voicemail: captured, sealed, transcribed, listed, played in the admin browser', { timeout: 600000 }, async (t) => {
  const h = await startHarness({ daemonArgs: ['--test-transcriber'] });
  t.after(() => h.close());
  const admin = await h.newContext({ testHooks: true });
  const page = admin.page;
  let callId;

  await step(t, 'admin sets up; a caller nobody can answer leaves a message', async () => {
    await setupAdmin(h, page, ADMIN);
    const demo = await placeDemoCall(page, 'tones', CALLER);
    await poll(async () => (await apiAs(page, 'GET', `/api/demo/calls/${demo.id}`)).json.ended, { timeout: 60000, what: 'the caller hung up after the message' });
  });

  await step(t, 'the list shows it as new, transcribed', async () => {
    await poll(async () => {
      const r = await apiAs(page, 'GET', '/api/voicemails');
      const v = r.json.voicemails[0];
      return r.json.transcription === true && v && v.transcription === 'done';
    }, { timeout: 60000, what: 'the transcript' });
    await nav(page, 'Voicemail');
    assert.equal(await page.locator('#vm-no-transcription').count(), 0);
    const row = page.locator('#vm-new tbody tr');
    assert.equal(await row.count(), 1);
    callId = await row.getAttribute('data-call-id');
    assert.match(await row.locator('td[data-label="Length"]').textContent(), /^0:(09|1\d)$/);
    assert.equal(await row.locator('td[data-label="Language"]').textContent(), 'English');
    assert.equal(await row.locator('td[data-label="Transcript"]').textContent(), 'Transcribed');
    assert.equal(await page.locator('#vm-handled tbody tr').count(), 0);
    await row.getByRole('link').click();
    await page.locator('#vm-audio').waitFor();
  });

  await step(t, 'the transcript names both tones in order', async () => {
    const lines = await page.locator('#vm-transcript ol.transcript li').allTextContents();
    assert.deepEqual(lines.map((l) => l.replace(/^\d+:\d\d\s*/, '')), ['600 Hz', '1200 Hz'], lines.join(' | '));
  });

  await step(t, 'the player decrypts and plays it: WebAudio hears 600 Hz, then 1200 Hz', async () => {
    await page.locator('#vm-play').click();
    const heard = [];
    await poll(async () => {
      const d = await page.evaluate(() => (window.__llamenosVoicemailAudio ? window.__llamenosVoicemailAudio.dominant() : null));
      if (d && d.db > -60) heard.push(d.hz);
      const i600 = heard.findIndex((hz) => Math.abs(hz - 600) <= 15);
      return i600 >= 0 && heard.slice(i600).some((hz) => Math.abs(hz - 1200) <= 15);
    }, { timeout: 20000, interval: 50, what: `600 Hz then 1200 Hz from the player (heard ${heard.join(', ')})` });
  });

  await step(t, 'marking it handled moves it and is audited', async () => {
    await page.locator('#vm-toggle').click();
    await page.locator('#vm-handled-state', { hasText: `Handled by ${ADMIN.name}` }).waitFor();
    await nav(page, 'Voicemail');
    assert.equal(await page.locator('#vm-new tbody tr').count(), 0);
    assert.equal(await page.locator(`#vm-handled tbody tr[data-call-id="${callId}"]`).count(), 1);
    const audit = await apiAs(page, 'GET', '/api/audit?action=voicemail');
    const actions = audit.json.entries.map((e) => e.action);
    assert.ok(actions.includes('voicemail.handled') && actions.includes('voicemail.received'), actions.join(', '));
  });

  await step(t, 'no plaintext audio anywhere on the box', async () => {
    const v = (await apiAs(page, 'GET', `/api/voicemails/${callId}`)).json;
    const item = await page.evaluate((k) => localStorage.getItem(k), KEYSTORE_ITEM);
    const storage = new Map([[KEYSTORE_ITEM, item]]);
    const unlocked = await unlockKeyStore({ getItem: (k) => storage.get(k) ?? null, setItem: (k, x) => storage.set(k, x), removeItem: (k) => storage.delete(k) }, ADMIN.passphrase);
    assert.ok(unlocked.ok, JSON.stringify(unlocked));
    const opened = openBytes(v.audio, audioContext(callId), unlocked.secretKey);
    assert.ok(opened.ok);
    const pcm = Buffer.from(opened.bytes);
    // Windows of 32 bytes across the two spoken seconds, where they hold
    // a tone: silence (all 0xFF, or packets lost on a loaded machine) would
    // match any silence.
    const canaries = [];
    for (let at = 0; at + 32 <= 16000; at += 500) {
      const w = pcm.subarray(at, at + 32);
      if (new Set(w).size >= 8) canaries.push(Buffer.from(w));
    }
    assert.ok(canaries.length >= 20, `${canaries.length} windows of speech`);
    await h.closeDaemon();
    const hits = [];
    const files = [...(await filesUnder(h.dataDir)), ...(await filesUnder(h.daemonTmp))];
    assert.ok(files.length > 0);
    for (const f of files) {
      const b = await readFile(f);
      for (const c of canaries) if (b.indexOf(c) >= 0) hits.push(f);
    }
    const out = Buffer.from(h.daemonLog(), 'utf8');
    for (const c of canaries) if (out.indexOf(c) >= 0) hits.push('daemon output');
    assert.deepEqual(hits, []);
  });

  assert.deepEqual(scriptErrors(admin), []);
});
