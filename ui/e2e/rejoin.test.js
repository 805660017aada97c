// A call survives the volunteer's browser, against the real daemon (`llamenos
// demo` and its Asterisk simulator) in real Chromium. A volunteer answers a
// 440 Hz caller with a 1 kHz microphone and starts a note. Then:
//   1. The page reloads mid-call. Until the volunteer has unlocked again the
//      caller hears music on hold; after unlocking, the call panel is back
//      with the note draft, and the audio flows both ways again on a new
//      PeerConnection, the hold music stopped.
//   2. The network drops for 5 s: the page goes offline (context.setOffline)
//      and the browser's network service process is stopped, so nothing
//      leaves or reaches this browser, WebRTC included (Chromium's offline
//      emulation alone does not touch WebRTC). The caller is put on hold
//      while the media is down; once the network is back the audio flows
//      both ways again and the music stops.
//   3. Muting is not a drop: packets keep flowing, no hold music.
//   4. The volunteer hangs up; nothing is left in the simulator; the record
//      says answered.
// "Flows again" is measured on fresh audio only: the page's probe on the
// new remote stream (440 Hz the loudest, five readings in a row), and the
// simulator's last second of what the caller received, once at least 50
// packets arrived after the test looked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { poll, startHarness } from './harness.js';
import { apiAs, invite, join, login, makeAvailable, placeDemoCall, scheduleEveryoneNow, scriptErrors, setupAdmin, step, tmpFile } from './flows.js';
import { sineWav } from './frames.js';

const ADMIN = { name: 'Rosa Admin', passphrase: 'admin rejoin passphrase' };
const VOL = { name: 'Nico Nights', passphrase: 'volunteer rejoin pass' };
const DRAFT = 'Caller calmer now; talked about the weekend plan';

// The processes of this test's own browser: found by a switch Chromium
// ignores, then its descendants.
function processes() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(d), ppid, cmd });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function networkService(mark) {
  const ps = processes();
  const main = ps.find((p) => p.cmd.includes(mark) && !p.cmd.some((a) => a.startsWith('--type=')));
  assert.ok(main, `the test's browser process (${mark})`);
  const mine = new Set([main.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of ps) {
      if (!mine.has(p.pid) && mine.has(p.ppid)) {
        mine.add(p.pid);
        grew = true;
      }
    }
  }
  const net = ps.filter((p) => mine.has(p.pid) && p.cmd.some((a) => a.includes('network.mojom.NetworkService')));
  assert.equal(net.length, 1, 'one network service process in the test\'s browser');
  return net[0].pid;
}

test('rejoin: a reload and a network drop mid-call rejoin it, the caller on hold meanwhile', { timeout: 900000 }, async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const wav = tmpFile(h, 'mic-1khz.wav');
  await writeFile(wav, sineWav(1000));
  const mark = `--llamenos-e2e-browser=${Math.random().toString(36).slice(2)}`;
  const admin = await h.newContext();
  const vol = await h.newContext({ testHooks: true, browserArgs: [`--use-file-for-fake-audio-capture=${wav}`, mark] });
  const page = vol.page;

  const demoCall = async (id) => (await apiAs(admin.page, 'GET', `/api/demo/calls/${id}`)).json;
  // The page hears the caller's 440 Hz as the loudest thing, five readings
  // in a row over a second (hold music, 392 + 494 Hz, would win otherwise).
  const pageHears440 = async (what) => {
    const probe = () => page.evaluate(() => (window.__llamenosAudio ? window.__llamenosAudio.dominant() : null));
    const is440 = (d) => d && Math.abs(d.hz - 440) <= 15 && d.db > -80;
    const rs = await poll(async () => {
      const out = [];
      for (let i = 0; i < 5; i++) {
        const d = await probe();
        if (!is440(d)) return null;
        out.push(d);
        await new Promise((r) => setTimeout(r, 250));
      }
      return out;
    }, { timeout: 30000, interval: 250, what });
    t.diagnostic(`${what}: ${rs.map((d) => `${d.hz} Hz ${d.db} dB`).join(', ')}`);
  };
  // The caller hears the volunteer's 1 kHz in at least 50 packets received
  // after `since` (a heardPackets reading).
  const callerHears1k = async (id, since, what) => {
    const got = await poll(async () => {
      const c = await demoCall(id);
      return c && c.heardPackets >= since + 50 && c.recent[0].detected ? c : null;
    }, { timeout: 30000, interval: 300, what });
    t.diagnostic(`${what}: 1 kHz at ${got.recent[0].level} over the last second, ${got.heardPackets} packets`);
    return got;
  };

  await step(t, 'admin sets up; the volunteer joins, on shift and available', async () => {
    await setupAdmin(h, admin.page, ADMIN);
    await join(h, page, await invite(admin.page), VOL);
    await scheduleEveryoneNow(admin.page, [VOL.name]);
    await makeAvailable(page);
    await page.locator('#ring-state[data-state="ringable"]').waitFor();
  });

  let demo;
  let callId;
  await step(t, 'a 440 Hz caller is answered; audio both ways; a note is started', async () => {
    demo = await placeDemoCall(admin.page, 'tone');
    await page.locator('.ring-card').waitFor({ timeout: 30000 });
    callId = await page.locator('.ring-card').getAttribute('data-call-id');
    await page.locator('.ring-card').getByRole('button', { name: 'Answer' }).click();
    await page.locator('.call-media[data-state="connected"]').waitFor({ timeout: 20000 });
    await pageHears440('the page hearing the caller');
    await callerHears1k(demo.id, 0, 'the caller hearing the volunteer');
    const c = await demoCall(demo.id);
    assert.equal(c.onHold, false, 'no hold music while they talk');
    const ed = page.locator('.call-panel .note-editor');
    await ed.getByLabel('What happened').fill(DRAFT);
    await ed.locator('.draft-status', { hasText: 'Draft kept on this device' }).waitFor({ timeout: 10000 });
  });

  await step(t, 'the page reloads: the caller hears hold music until the volunteer is back', async () => {
    const before = await demoCall(demo.id);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: /Log in|Locked/ }).waitFor();
    const held = await poll(async () => {
      const c = await demoCall(demo.id);
      return c && c.onHold ? c : null;
    }, { timeout: 10000, interval: 200, what: 'the caller on hold while the page is away' });
    assert.equal(held.ended, false, 'the call goes on');
    assert.ok(held.holds > before.holds, `hold music started again (${before.holds} → ${held.holds})`);
  });

  await step(t, 'after unlocking: the panel is back with the draft, audio both ways, no hold music', async () => {
    const since = (await demoCall(demo.id)).heardPackets;
    await login(page, VOL.passphrase);
    const panel = page.locator(`.call-panel[data-call-id="${callId}"]`);
    await panel.waitFor({ timeout: 20000 });
    await panel.getByRole('button', { name: 'Hang up' }).waitFor();
    await page.locator('.call-media[data-state="connected"]').waitFor({ timeout: 30000 });
    assert.equal(await panel.locator('.note-editor').getByLabel('What happened').inputValue(), DRAFT, 'the note draft is back');
    await pageHears440('the page hearing the caller again after the reload');
    await callerHears1k(demo.id, since, 'the caller hearing the volunteer again after the reload');
    await poll(async () => (await demoCall(demo.id)).onHold === false, { timeout: 10000, what: 'the hold music stopped' });
  });

  await step(t, 'the network drops for 5 s, WebRTC included: hold music, then audio both ways again', async () => {
    const before = await demoCall(demo.id);
    const pid = networkService(mark);
    const heardBefore = await page.evaluate(() => window.__llamenosAudio.dominant());
    await vol.context.setOffline(true);
    process.kill(pid, 'SIGSTOP');
    let stopped = true;
    try {
      const c0 = (await demoCall(demo.id)).heardPackets;
      await new Promise((r) => setTimeout(r, 5000));
      // Nothing of the volunteer reached the caller meanwhile: the path
      // really was down (a few packets in flight at the start aside).
      const c1 = (await demoCall(demo.id)).heardPackets;
      assert.ok(c1 - c0 < 10, `the caller received ${c1 - c0} packets while the network was down`);
      process.kill(pid, 'SIGCONT');
      stopped = false;
    } finally {
      if (stopped) process.kill(pid, 'SIGCONT');
    }
    await vol.context.setOffline(false);
    t.diagnostic(`before the drop the page heard ${heardBefore.hz} Hz`);
    const after = await demoCall(demo.id);
    assert.equal(after.ended, false, 'the call goes on');
    assert.ok(after.holds > before.holds, `the caller was put on hold while the media was down (${before.holds} → ${after.holds})`);
    await pageHears440('the page hearing the caller after the network came back');
    await callerHears1k(demo.id, after.heardPackets, 'the caller hearing the volunteer after the network came back');
    await poll(async () => (await demoCall(demo.id)).onHold === false, { timeout: 10000, what: 'the hold music stopped' });
  });

  await step(t, 'muting is not a drop: the media keeps flowing, no hold music', async () => {
    const mute = page.locator('.call-panel').getByRole('button', { name: 'Mute' });
    const before = await demoCall(demo.id);
    await mute.click();
    await poll(async () => (await mute.getAttribute('aria-pressed')) === 'true', { what: 'muted' });
    // Longer than the 2 s after which the daemon takes a silent browser
    // for a lost one.
    await new Promise((r) => setTimeout(r, 4000));
    const after = await demoCall(demo.id);
    assert.equal(after.onHold, false, 'no hold music while the volunteer is muted');
    assert.equal(after.holds, before.holds, 'hold music never started');
    assert.ok(after.heardPackets - before.heardPackets >= 150, `packets kept coming while muted: ${after.heardPackets - before.heardPackets} in 4 s`);
    await mute.click();
    await poll(async () => (await mute.getAttribute('aria-pressed')) === 'false', { what: 'unmuted' });
  });

  await step(t, 'the volunteer hangs up: the call ends normally, nothing left', async () => {
    const panel = page.locator(`.call-panel[data-call-id="${callId}"]`);
    await panel.getByRole('button', { name: 'Hang up' }).click();
    await panel.locator('.call-status', { hasText: 'You hung up.' }).waitFor({ timeout: 10000 });
    await poll(async () => (await demoCall(demo.id)).ended, { timeout: 10000, what: 'the caller hung up' });
    await poll(async () => {
      const a = (await apiAs(admin.page, 'GET', '/api/demo/asterisk')).json;
      return a && a.channels.length === 0 && a.bridges.length === 0;
    }, { timeout: 10000, what: 'no channel or bridge in the simulator' });
    const rec = await poll(async () => {
      const r = await apiAs(admin.page, 'GET', `/api/calls/${callId}`);
      return r.json && r.json.endedAt ? r.json : null;
    }, { what: 'the call record' });
    assert.equal(rec.outcome, 'answered');
    t.diagnostic(`call record: lasted ${rec.durationMs} ms`);
  });

  for (const c of [admin, vol]) assert.deepEqual(scriptErrors(c), [], 'no script errors in the pages');
});
