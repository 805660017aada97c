// Call transcripts end to end, against `llamenos demo --test-transcriber`
// (its transcriber hears tones and writes "600 Hz"). The admin turns call
// transcripts on in Settings. Volunteers A and B are on shift; the
// simulator's pretend caller says 600 Hz for a second, then 1200 Hz for a
// second, then nothing; before anything rings it hears that the call is
// transcribed. A answers in the browser with a fake microphone that
// is silent for its first seconds and then plays 1 kHz, so the caller speaks
// first and the volunteer after. A's call bar says the call is transcribed,
// and A's call page, opened during the call, that it is being transcribed.
// Once the caller has heard A's 1 kHz, A hangs up; that page then fills in
// the transcript: the caller's 600 Hz and 1200 Hz under "Caller", A's 1000 Hz
// under "Volunteer", in time order. The admin's call page shows the same
// lines; B's shows no transcript and the API answers B with 404. The Spanish
// strings of the transcript UI exist, and the transcript fits a 390 px phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { poll, startHarness, uiRoot } from './harness.js';
import { apiAs, invite, join, makeAvailable, nav, placeDemoCall, scheduleEveryoneNow, scriptErrors, setupAdmin, step, tmpFile } from './flows.js';
import { sineWav } from './frames.js';

const ADMIN = { name: 'Tere Admin', passphrase: 'admin transcript passphrase' };
const VOL_A = { name: 'Ana Answers', passphrase: 'volunteer a transcript pass' };
const VOL_B = { name: 'Bruno Other', passphrase: 'volunteer b transcript pass' };
const CALLER = '+34655' + String(Math.floor(Math.random() * 1e6)).padStart(6, '0');

// The fake microphone: SILENCE_S of silence, then 1 kHz. Chromium starts the
// file when the page takes the microphone (at Answer), and the caller's two
// seconds of tones start when the call is bridged, right after: the
// volunteer speaks well after the caller has finished.
const SILENCE_S = 6;
function delayedToneWav(hz, silence, tone, rate = 48000) {
  const wav = sineWav(hz, silence + tone, rate);
  wav.fill(0, 44, 44 + Math.round(silence * rate) * 2);
  return wav;
}

// transcriptLines reads the call page's transcript: [{at, speaker, text}].
function transcriptLines(page) {
  return page.locator('#call-transcript ol.transcript li').evaluateAll((lis) =>
    lis.map((li) => ({
      at: li.querySelector('.mono').textContent,
      speaker: li.dataset.speaker,
      label: li.querySelector('strong').textContent,
      text: li.lastChild.textContent,
    })),
  );
}

const seconds = (clock) => {
  const [m, s] = clock.split(':').map(Number);
  return m * 60 + s;
};

async function openCallPage(page, callId) {
  await page.evaluate(() => document.querySelector('main h1')?.setAttribute('data-stale', ''));
  await page.evaluate((id) => (location.hash = `#/calls/${encodeURIComponent(id)}`), callId);
  await page.locator('main h1:not([data-stale])').waitFor();
}

test('transcript: turned on, announced, sealed to the answerer and the admin, shown on the call page', { timeout: 900000 }, async (t) => {
  const h = await startHarness({ daemonArgs: ['--test-transcriber'] });
  t.after(() => h.close());
  const wav = tmpFile(h, 'mic-late-1khz.wav');
  await writeFile(wav, delayedToneWav(1000, SILENCE_S, 30));

  const admin = await h.newContext();
  const volA = await h.newContext({ browserArgs: [`--use-file-for-fake-audio-capture=${wav}`] });
  const volB = await h.newContext();

  await step(t, 'admin sets up and turns call transcripts on; A and B join, on shift, available', async () => {
    await setupAdmin(h, admin.page, ADMIN);
    await nav(admin.page, 'Settings');
    const box = admin.page.getByLabel('Transcribe answered calls');
    assert.equal(await box.isChecked(), false, 'off by default');
    await box.check();
    await admin.page.getByRole('button', { name: 'Save', exact: true }).click();
    await admin.page.getByText('Settings saved.').waitFor();
    assert.equal((await apiAs(admin.page, 'GET', '/api/settings')).json.callTranscripts, true);
    await join(h, volA.page, await invite(admin.page), VOL_A);
    await join(h, volB.page, await invite(admin.page), VOL_B);
    await scheduleEveryoneNow(admin.page, [VOL_A.name, VOL_B.name]);
    await makeAvailable(volA.page);
    await makeAvailable(volB.page);
    for (const v of [volA, volB]) {
      await poll(async () => (await apiAs(v.page, 'GET', '/api/me')).json.onShift === true, { what: 'on shift' });
      await v.page.locator('#ring-state[data-state="ringable"]').waitFor();
    }
  });

  let demo;
  let callId;
  await step(t, 'the caller says 600 Hz then 1200 Hz; A answers; the call bar says it is transcribed', async () => {
    demo = await placeDemoCall(admin.page, 'tones', CALLER);
    await volA.page.locator('.ring-card').waitFor({ timeout: 30000 });
    callId = await volA.page.locator('.ring-card').getAttribute('data-call-id');
    const played = (await apiAs(admin.page, 'GET', `/api/demo/calls/${demo.id}`)).json.played ?? [];
    assert.equal(played[0], 'sound:llamenos/transcribed', `before the ring the caller heard ${played.join(', ')}`);
    await volA.page.locator('.ring-card').getByRole('button', { name: 'Answer' }).click();
    await volA.page.locator('.call-panel .call-transcribed:not([hidden])', { hasText: 'This call is transcribed' }).waitFor();
    await volA.page.locator('.call-media[data-state="connected"]').waitFor({ timeout: 30000 });
    const rec = (await apiAs(admin.page, 'GET', `/api/calls/${callId}`)).json;
    assert.equal(rec.transcribed, true, JSON.stringify(rec));
  });

  await step(t, 'during the call, A\'s call page says the call is being transcribed', async () => {
    await openCallPage(volA.page, callId);
    await volA.page.locator('#call-transcript [data-state="pending"]', { hasText: 'The call is being transcribed' }).waitFor();
  });

  await step(t, 'the caller hears A\'s 1 kHz for a second; A hangs up', async () => {
    const got = await poll(async () => {
      const r = (await apiAs(admin.page, 'GET', `/api/demo/calls/${demo.id}`)).json;
      const recent = r && (r.recent || []).find((x) => x.hz === 1000);
      return recent && recent.detected ? r : null;
    }, { timeout: 60000, interval: 250, what: 'the caller hearing a second of 1 kHz' });
    t.diagnostic(`caller heard ${got.heardPackets} packets`);
    await volA.page.locator('.call-panel').getByRole('button', { name: 'Hang up' }).click();
    await poll(async () => (await apiAs(admin.page, 'GET', `/api/calls/${callId}`)).json.endedAt, { what: 'the call ended' });
  });

  let linesA;
  await step(t, 'A\'s call page shows the transcript: the caller\'s tones, then A\'s, labelled, in time order', async () => {
    // The page A left open fills in once the transcript is stored.
    await volA.page.locator('#call-transcript ol.transcript').waitFor({ timeout: 120000 });
    linesA = await transcriptLines(volA.page);
    const said = linesA.map((l) => `${l.label}: ${l.text}`);
    t.diagnostic(`A's transcript: ${linesA.map((l) => `${l.at} ${l.label}: ${l.text}`).join(' | ')}`);
    for (const l of linesA) {
      assert.equal(l.label, l.speaker === 'caller' ? 'Caller' : 'Volunteer', said.join(' | '));
      assert.ok(l.speaker === 'caller' ? ['600 Hz', '1200 Hz'].includes(l.text) : l.text === '1000 Hz', `${l.label} said ${l.text}: ${said.join(' | ')}`);
    }
    const i600 = said.indexOf('Caller: 600 Hz');
    const i1200 = said.indexOf('Caller: 1200 Hz');
    const i1000 = said.indexOf('Volunteer: 1000 Hz');
    assert.ok(i600 >= 0 && i1200 > i600 && i1000 > i1200, said.join(' | '));
    for (let i = 1; i < linesA.length; i++) assert.ok(seconds(linesA[i].at) >= seconds(linesA[i - 1].at), `out of time order: ${linesA.map((l) => l.at).join(', ')}`);
    assert.ok(seconds(linesA[i1000].at) >= SILENCE_S - 1, `A spoke at ${linesA[i1000].at}`);
    assert.equal(await volA.page.locator('#call-transcript [data-state="pending"], #call-transcript .integrity-error').count(), 0);
  });

  await step(t, 'the admin sees the same transcript', async () => {
    await openCallPage(admin.page, callId);
    await admin.page.locator('#call-transcript ol.transcript').waitFor();
    assert.deepEqual(await transcriptLines(admin.page), linesA);
  });

  await step(t, 'B sees no transcript; the API answers B with 404', async () => {
    const r = await apiAs(volB.page, 'GET', `/api/calls/${callId}/transcripts`);
    assert.equal(r.status, 404, JSON.stringify(r.json));
    await openCallPage(volB.page, callId);
    await volB.page.locator('main .notice, main #call-transcript').first().waitFor();
    assert.equal(await volB.page.locator('#call-transcript').count(), 0);
    assert.equal(await volB.page.locator('main').getByText('1000 Hz').count(), 0);
  });

  await step(t, 'the transcript UI has its Spanish strings', async () => {
    const en = JSON.parse(await readFile(path.join(uiRoot, 'src/locales/en.json'), 'utf8'));
    const es = JSON.parse(await readFile(path.join(uiRoot, 'src/locales/es.json'), 'utf8'));
    const keys = Object.keys(en).filter((k) => k.startsWith('transcript.') || k === 'call.transcribed' || k.startsWith('settings.callTranscripts'));
    assert.ok(keys.length >= 9, keys.join(', '));
    for (const k of keys) {
      assert.equal(typeof es[k], 'string', `es.json has ${k}`);
      assert.ok(es[k].trim() && es[k] !== en[k], `es.json translates ${k}: ${es[k]}`);
    }
  });

  await step(t, 'the transcript fits a 390 px phone', async () => {
    await volA.page.setViewportSize({ width: 390, height: 844 });
    await nav(volA.page, 'Calls');
    await openCallPage(volA.page, callId);
    await volA.page.locator('#call-transcript ol.transcript').waitFor();
    const [sw, cw, wide] = await volA.page.evaluate(() => {
      const cw = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('#call-transcript, #call-transcript *')].filter((e) => e.getBoundingClientRect().right > cw + 1).slice(0, 5).map((e) => e.tagName + '.' + e.className);
      return [document.documentElement.scrollWidth, cw, wide];
    });
    assert.ok(sw <= cw + 1 && wide.length === 0, `${sw}px wide in a ${cw}px viewport: ${wide.join(', ')}`);
  });

  for (const c of [admin, volA, volB]) assert.deepEqual(scriptErrors(c), [], 'no script errors in the pages');
});
