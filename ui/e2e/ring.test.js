// A ring nobody misses, and a status that tells the truth, against the real
// daemon (`llamenos demo`) in Chromium. One volunteer, available and on
// shift; the admin places demo calls. Each test rings the volunteer with a
// call of its own and ends it before the next.
//
// The page's sound is measured from outside the app: an init script taps
// every node connected to an AudioContext's destination into an
// AnalyserNode (what the speakers get), and records each scheduled source
// (start, and stop when it was asked to stop or was scheduled to), so a test
// can ask "is anything still going to sound?" at the moment the ring ends.
// The Notification constructor is wrapped the same way, so the test sees
// what the page showed and closed.
//
// Headless Chromium shows every page as visible, whichever tab is in front,
// so a background tab is played where it matters: while __setHidden(true),
// document.visibilityState is 'hidden' and the page's timers wait at least a
// minute, as Chrome throttles a tab that has been hidden for five minutes.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { poll, startHarness } from './harness.js';
import { apiAs, invite, join, makeAvailable, placeDemoCall, scheduleEveryoneNow, scriptErrors, setupAdmin, step } from './flows.js';

const ADMIN = { name: 'Rosa Admin', passphrase: 'admin ring passphrase' };
const VOL = { name: 'Vera Rings', passphrase: 'volunteer ring passphrase' };

function instrument() {
  const audit = { taps: [], sources: [] };
  window.__audit = audit;
  let hidden = false;
  const THROTTLED_MS = 60000;
  for (const name of ['setTimeout', 'setInterval']) {
    const real = window[name];
    window[name] = function (fn, ms, ...rest) {
      return real.call(this, fn, hidden ? Math.max(Number(ms) || 0, THROTTLED_MS) : ms, ...rest);
    };
  }
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  window.__setHidden = (v) => {
    hidden = v;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (dest, ...rest) {
    const r = connect.call(this, dest, ...rest);
    if (dest instanceof AudioDestinationNode) {
      const ctx = dest.context;
      if (!ctx.__tap) {
        ctx.__tap = ctx.createAnalyser();
        // The most it keeps: 0.68 s at 48 kHz.
        ctx.__tap.fftSize = 32768;
        // A constant input far below hearing (-120 dB) keeps the analyser
        // writing once the page's nodes are disconnected: Chromium skips
        // writing input it knows to be silent, so the analyser would go on
        // showing the last sound. It is not one of the page's sources.
        const hold = ctx.createConstantSource();
        hold.offset.value = 1e-6;
        connect.call(hold, ctx.__tap);
        AudioScheduledSourceNode.prototype.start.__orig.call(hold);
        audit.taps.push(ctx.__tap);
      }
      connect.call(this, ctx.__tap);
    }
    return r;
  };
  const S = AudioScheduledSourceNode.prototype;
  const start = S.start;
  const stop = S.stop;
  // AudioBufferSourceNode has a start of its own (with offset and duration).
  for (const P of [S, AudioBufferSourceNode.prototype]) {
    const own = P.start;
    P.start = function (when = 0, ...rest) {
      const rec = { ctx: this.context, start: Math.max(when, this.context.currentTime), end: Infinity };
      if (this instanceof AudioBufferSourceNode && !this.loop && this.buffer) rec.end = rec.start + this.buffer.duration;
      this.__rec = rec;
      audit.sources.push(rec);
      return own.call(this, when, ...rest);
    };
  }
  S.start.__orig = start;
  S.stop = function (when = 0) {
    if (this.__rec) this.__rec.end = Math.min(this.__rec.end, Math.max(when, this.context.currentTime));
    return stop.call(this, when);
  };
  // level: the loudest RMS (dB) any context sent to its speakers over the
  // last `win` seconds.
  window.__level = (win = 0.05) => {
    let best = -Infinity;
    for (const a of audit.taps) {
      const buf = new Float32Array(a.fftSize);
      a.getFloatTimeDomainData(buf);
      const tail = buf.subarray(Math.max(0, buf.length - Math.round(win * a.context.sampleRate)));
      let sum = 0;
      for (const v of tail) sum += v * v;
      best = Math.max(best, 10 * Math.log10(sum / tail.length));
    }
    return best;
  };
  // loud: where, on the first context's clock, the samples it holds (the
  // last 0.68 s) were above 0.01: [[from, to, cut]…] seconds, cut when the
  // run began before the samples held (its start is not known). Empty when
  // the clock moved by more than two render quanta during the copy.
  window.__loud = () => {
    const a = audit.taps[0];
    const buf = new Float32Array(a.fftSize);
    const before = a.context.currentTime;
    a.getFloatTimeDomainData(buf);
    const end = a.context.currentTime;
    const rate = a.context.sampleRate;
    const out = [];
    // The clock moved on while the samples were copied: which of them the
    // copy holds is not known to the millisecond; skip this reading.
    if (end - before > 0.006) return out;
    let from = -1;
    for (let i = 0; i <= buf.length; i++) {
      const loud = i < buf.length && Math.abs(buf[i]) > 0.01;
      if (loud && from < 0) from = i;
      // Runs closer than 50 ms are one (the zero crossings of a sine).
      if (!loud && from >= 0 && (i === buf.length || !buf.subarray(i, i + Math.round(0.05 * rate)).some((v) => Math.abs(v) > 0.01))) {
        out.push([end - (buf.length - from) / rate, end - (buf.length - i) / rate, from === 0]);
        from = -1;
      }
    }
    return out;
  };
  // pending: the sources that will still sound after now (+20 ms).
  window.__pending = () => audit.sources.filter((r) => r.end > r.ctx.currentTime + 0.02).length;
  const N = window.Notification;
  if (N) {
    const shown = [];
    window.__notifications = shown;
    window.Notification = class extends N {
      constructor(title, opts = {}) {
        super(title, opts);
        const rec = { title, body: opts.body, tag: opts.tag, closed: false, n: this };
        shown.push(rec);
        const close = this.close.bind(this);
        this.close = () => {
          rec.closed = true;
          close();
        };
      }
    };
  }
}

let h;
let admin;
let vol;
// The demo calls placed and not yet hung up.
const placed = new Set();

before(async () => {
  h = await startHarness();
  admin = await h.newContext();
  vol = await h.newContext();
  await vol.context.addInitScript(instrument);
  await setupAdmin(h, admin.page, ADMIN);
  await join(h, vol.page, await invite(admin.page), VOL);
  await scheduleEveryoneNow(admin.page, [VOL.name]);
  await makeAvailable(vol.page);
  await poll(async () => (await apiAs(vol.page, 'GET', '/api/me')).json.onShift === true, { what: 'on shift' });
  await vol.page.locator('#ring-state[data-state="ringable"]').waitFor();
  // The admin watches the Live panel on the home screen.
  await admin.page.getByRole('navigation').getByRole('link', { name: 'Home', exact: true }).click();
  await admin.page.locator('#presence').waitFor();
});

after(async () => {
  if (h) await h.close();
});

// Whatever a test left (it failed half-way), the next starts with no call:
// every call hung up, no ring, no call panel, the tab in front.
afterEach(async () => {
  for (const id of placed) await apiAs(admin.page, 'DELETE', `/api/demo/calls/${id}`);
  placed.clear();
  await poll(async () => (await apiAs(admin.page, 'GET', '/api/demo/asterisk')).json.channels.length === 0, { what: 'no channel left' });
  await vol.page.evaluate(() => window.__setHidden(false));
  await vol.page.locator('.ring-card').waitFor({ state: 'detached', timeout: 10000 });
  const close = vol.page.locator('.call-panel').getByRole('button', { name: 'Close' });
  if (await vol.page.locator('.call-panel').count()) {
    await close.waitFor();
    await close.click();
  }
});

// ring places a call and waits for its ring card; → the demo call.
async function ring(page = vol.page) {
  const demo = await placeDemoCall(admin.page, 'tone');
  placed.add(demo.id);
  await poll(() => page.evaluate(() => !!document.querySelector('.ring-card')), { timeout: 30000, what: 'the ring card' });
  return demo;
}

// hangUp: the pretend caller hangs up; the call is over on the daemon.
async function hangUp(demo) {
  const r = await apiAs(admin.page, 'DELETE', `/api/demo/calls/${demo.id}`);
  assert.equal(r.status, 204);
  placed.delete(demo.id);
  await poll(async () => {
    const a = (await apiAs(admin.page, 'GET', '/api/demo/asterisk')).json;
    return a && a.channels.length === 0;
  }, { what: 'the simulator holds no channel' });
}

// closeEnded dismisses an ended call panel, so the next test starts clean.
async function closeEnded() {
  const close = vol.page.locator('.call-panel').getByRole('button', { name: 'Close' });
  await close.waitFor();
  await close.click();
  await vol.page.locator('.call-panel').waitFor({ state: 'detached' });
}

test('the ring is an alertdialog, announced, with focus on a large Answer; the keyboard answers and declines', { timeout: 300000 }, async (t) => {
  const demo = await ring();
  await step(t, 'alertdialog, announcement, focus', async () => {
    const dialog = vol.page.getByRole('alertdialog', { name: 'Incoming call' });
    await dialog.waitFor({ timeout: 5000 });
    await poll(() => vol.page.evaluate(() => document.getElementById('alert').textContent === 'Incoming call'), { timeout: 5000, what: 'the assertive announcement' });
    const focus = await vol.page.evaluate(() => ({ text: document.activeElement.textContent, inDialog: !!document.activeElement.closest('[role="alertdialog"]') }));
    assert.deepEqual(focus, { text: 'Answer', inDialog: true }, 'focus on Answer, in the dialog');
    assert.equal(await dialog.getByRole('button', { name: 'Answer' }).getAttribute('aria-keyshortcuts'), 'Alt+A');
  });
  await step(t, 'Answer is far bigger than Decline; the card pulses unless reduced motion is asked for', async () => {
    const answer = await vol.page.locator('.ring-card').getByRole('button', { name: 'Answer' }).boundingBox();
    const decline = await vol.page.locator('.ring-card').getByRole('button', { name: 'Decline' }).boundingBox();
    t.diagnostic(`Answer ${answer.width.toFixed(0)}×${answer.height.toFixed(0)}, Decline ${decline.width.toFixed(0)}×${decline.height.toFixed(0)}`);
    assert.ok(answer.height >= 1.4 * decline.height, 'Answer is taller');
    assert.ok(answer.width * answer.height >= 3 * decline.width * decline.height, 'Answer has three times the area');
    const anim = () => vol.page.evaluate(() => getComputedStyle(document.querySelector('.ring-card')).animationName);
    await vol.page.emulateMedia({ reducedMotion: 'no-preference' });
    assert.notEqual(await anim(), 'none', 'the card pulses');
    await vol.page.emulateMedia({ reducedMotion: 'reduce' });
    assert.equal(await anim(), 'none', 'no motion under prefers-reduced-motion');
    await vol.page.emulateMedia({ reducedMotion: 'no-preference' });
  });
  await step(t, 'Enter on the focused Answer answers', async () => {
    await vol.page.keyboard.press('Enter');
    await vol.page.locator('.call-panel').waitFor({ timeout: 10000 });
    await vol.page.locator('.ring-card').waitFor({ state: 'detached' });
    await hangUp(demo);
    await closeEnded();
  });
  await step(t, 'Alt+X declines from anywhere, a text field included; Alt+A answers', async () => {
    const d2 = await ring();
    await vol.page.locator('#lang-select').focus();
    await vol.page.keyboard.press('Alt+X');
    await vol.page.locator('.ring-card').waitFor({ state: 'detached', timeout: 5000 });
    await hangUp(d2);
    const d3 = await ring();
    await vol.page.keyboard.press('Alt+A');
    await vol.page.locator('.call-panel').waitFor({ timeout: 10000 });
    await hangUp(d3);
    await closeEnded();
  });
});

test('the ring sounds in a background tab and stops the instant the ring ends', { timeout: 300000 }, async (t) => {
  // The last ring (of the test before) is over: from quietAt on the audio
  // clock, whatever sounds is this test's ring.
  const quietAt = await poll(() => vol.page.evaluate(() => {
    const tap = window.__audit.taps[0];
    if (!tap) return 0.001;
    return window.__level(0.6) < -100 ? tap.context.currentTime : null;
  }), { timeout: 5000, interval: 50, what: 'silence before the call' });
  // The volunteer's tab goes to the background before the call comes.
  await vol.page.evaluate(() => window.__setHidden(true));
  let demo;
  try {
    demo = await ring();
    await step(t, 'sound while hidden, period after period', async () => {
      // Listen for 7.5 s on the audio clock: the chimes come in bursts every
      // 3 s. Each reading covers the last 0.68 s, so a slow machine that
      // reads less often than a burst lasts still hears every burst.
      const t0 = await vol.page.evaluate(() => (window.__audit.taps[0] ? window.__audit.taps[0].context.currentTime : null));
      assert.notEqual(t0, null, 'the page sends sound to its speakers');
      const runs = [];
      let reads = 0;
      // Bounded on the wall clock too: a context that stopped would never
      // reach 7.5 s, and fails below for the bursts it did not play.
      const until = Date.now() + 30000;
      while (Date.now() < until) {
        const r = await vol.page.evaluate(() => ({ t: window.__audit.taps[0].context.currentTime, loud: window.__loud(), hidden: document.visibilityState === 'hidden' }));
        assert.equal(r.hidden, true);
        reads++;
        for (const [from, to, cut] of r.loud) if (to > quietAt) runs.push(from < quietAt ? [quietAt, to, true] : [from, to, cut]);
        if (r.t - t0 > 7.5) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      // Readings overlap: merge the runs; a burst is runs separated by less
      // than a second of silence.
      runs.sort((x, y) => x[0] - y[0]);
      const bursts = []; // [from, to, start known]
      for (const [from, to, cut] of runs) {
        const last = bursts.at(-1);
        if (last && from - last[1] < 1) {
          last[1] = Math.max(last[1], to);
          if (!cut && from - last[0] < 0.01) last[2] = true;
        } else bursts.push([from, to, !cut]);
      }
      t.diagnostic(`${reads} readings; bursts at ${bursts.map(([a, b, known]) => `${known ? '' : '~'}${(a - t0).toFixed(2)}–${(b - t0).toFixed(2)}`).join(', ')} s`);
      assert.ok(bursts.length >= 3, `bursts heard while hidden: ${bursts.length}`);
      let measured = 0;
      for (let i = 1; i < bursts.length; i++) {
        if (!bursts[i][2] || !bursts[i - 1][2]) continue;
        const g = bursts[i][0] - bursts[i - 1][0];
        assert.ok(Math.abs(g - 3) < 0.05, `a burst every 3 s, not ${g.toFixed(3)} s`);
        measured++;
      }
      assert.ok(measured >= 1, 'at least one period measured from start to start');
    });
    await step(t, 'the caller hangs up: nothing more sounds', async () => {
      await vol.page.evaluate(() => {
        const bar = document.getElementById('callbar');
        window.__atStop = null;
        const mo = new MutationObserver(() => {
          if (!bar.querySelector('.ring-card') && window.__atStop === null) {
            window.__atStop = window.__pending();
            mo.disconnect();
          }
        });
        mo.observe(bar, { childList: true, subtree: true });
      });
      await hangUp(demo);
      await poll(() => vol.page.evaluate(() => window.__atStop !== null), { timeout: 10000, what: 'the ring card gone' });
      assert.equal(await vol.page.evaluate(() => window.__atStop), 0, 'no sound left scheduled when the ring card went');
      await poll(async () => (await vol.page.evaluate(() => window.__level())) < -100, { timeout: 2000, interval: 50, what: 'silence' });
    });
  } finally {
    await vol.page.evaluate(() => window.__setHidden(false));
  }
  await step(t, 'declined while a chime sounds: it stops there', async () => {
    const d2 = await ring();
    // In the page, on the same clock as the sound: as soon as the ring is
    // heard, press Decline, and see what is left to sound.
    const got = await vol.page.evaluate(() => new Promise((resolve) => {
      const t0 = performance.now();
      const tick = () => {
        const db = window.__level();
        if (db > -45) {
          const btn = [...document.querySelectorAll('.ring-card button')].find((b) => b.textContent === 'Decline');
          btn.click();
          queueMicrotask(() => resolve({ db, pending: window.__pending(), card: !!document.querySelector('.ring-card') }));
        } else if (performance.now() - t0 > 8000) resolve({ db, pending: -1 });
        else setTimeout(tick, 5);
      };
      tick();
    }));
    t.diagnostic(`declined at ${got.db.toFixed(1)} dB`);
    assert.notEqual(got.pending, -1, 'the ring was heard');
    assert.equal(got.card, false, 'the ring card went');
    assert.equal(got.pending, 0, 'nothing left to sound after Decline');
    await poll(async () => (await vol.page.evaluate(() => window.__level())) < -100, { timeout: 2000, interval: 50, what: 'silence' });
    await hangUp(d2);
  });
});

test('the tab title and icon show the ring and come back; a Notification is shown and its click goes to Answer', { timeout: 300000 }, async (t) => {
  await vol.context.grantPermissions(['notifications'], { origin: h.origin });
  const icon = () => vol.page.evaluate(() => document.querySelector('link[rel="icon"]').getAttribute('href'));
  const before = { title: await vol.page.title(), icon: await icon() };
  // The volunteer is in a field when the ring comes: focus stays there.
  await vol.page.locator('#lang-select').focus();
  const demo = await ring();
  await step(t, 'title and icon while ringing', async () => {
    assert.equal(await vol.page.title(), `(Incoming call) ${before.title}`);
    const ringing = await icon();
    assert.notEqual(ringing, before.icon, 'the icon changed');
    assert.match(ringing, /^data:image\/svg\+xml,/);
  });
  const notifications = () => vol.page.evaluate(() => (window.__notifications || []).map(({ title, body, tag, closed }) => ({ title, body, tag, closed })));
  await step(t, 'a notification, and focus left in the field', async () => {
    const shown = await poll(() => notifications().then((l) => (l.length ? l : null)), { timeout: 5000, what: 'a notification' });
    assert.deepEqual(shown, [{ title: 'Incoming call', body: 'A call is waiting to be answered.', tag: 'llamenos-ring', closed: false }]);
    assert.equal(await vol.page.evaluate(() => document.activeElement.id), 'lang-select', 'the ring did not take focus from a field');
  });
  await step(t, 'the caller hangs up: title, icon and notification go back', async () => {
    await hangUp(demo);
    await vol.page.locator('.ring-card').waitFor({ state: 'detached', timeout: 10000 });
    assert.equal(await vol.page.title(), before.title);
    assert.equal(await icon(), before.icon);
    assert.deepEqual((await notifications()).map((n) => n.closed), [true], 'the notification is closed');
  });
  await step(t, 'a click on the notification puts focus on Answer', async () => {
    await vol.page.locator('#lang-select').focus();
    const d2 = await ring();
    await poll(async () => (await notifications()).length === 2, { timeout: 5000, what: 'a second notification' });
    await vol.page.evaluate(() => window.__notifications[1].n.dispatchEvent(new Event('click')));
    assert.equal(await vol.page.evaluate(() => document.activeElement.textContent), 'Answer', 'focus on Answer');
    assert.deepEqual((await notifications()).map((n) => n.closed), [true, true], 'the click closed it');
    await hangUp(d2);
    await vol.page.locator('.ring-card').waitFor({ state: 'detached', timeout: 10000 });
  });
});

test('home and header say "on a call" during the call and not after, without a redraw', { timeout: 300000 }, async (t) => {
  // The home screen as it is now: the same nodes must tell the truth.
  await vol.page.evaluate(() => (window.__home = document.querySelector('main h1')));
  const onCallDd = vol.page.locator('.status-grid dt', { hasText: 'On a call' }).locator('xpath=following-sibling::dd[1]');
  const header = vol.page.locator('#me-state');
  const presence = admin.page.locator('#presence');
  assert.equal(await onCallDd.textContent(), 'No');
  const demo = await ring();
  await vol.page.locator('.ring-card').getByRole('button', { name: 'Answer' }).click();
  await step(t, 'during the call', async () => {
    await poll(async () => (await apiAs(vol.page, 'GET', '/api/me')).json.onCall === true, { what: 'the engine says on a call' });
    await poll(async () => (await onCallDd.textContent()) === 'Yes', { timeout: 10000, what: 'home: On a call: Yes' });
    await vol.page.locator('#ring-state[data-state="oncall"]').waitFor({ timeout: 10000 });
    await poll(async () => (await header.textContent()) === 'On a call', { timeout: 10000, what: 'header: On a call' });
    await poll(async () => /On a call: 1 /.test(await presence.textContent()), { timeout: 10000, what: 'presence: one on a call' });
  });
  await step(t, 'after the call', async () => {
    await hangUp(demo);
    await poll(async () => (await apiAs(vol.page, 'GET', '/api/me')).json.onCall === false, { what: 'the engine says not on a call' });
    await poll(async () => (await onCallDd.textContent()) === 'No', { timeout: 10000, what: 'home: On a call: No' });
    await vol.page.locator('#ring-state[data-state="ringable"]').waitFor({ timeout: 10000 });
    await poll(async () => (await header.textContent()) === 'Available', { timeout: 10000, what: 'header: Available' });
    await poll(async () => /On a call: 0 /.test(await presence.textContent()), { timeout: 10000, what: 'presence: nobody on a call' });
    assert.equal(await vol.page.evaluate(() => document.querySelector('main h1') === window.__home), true, 'the home screen was not drawn again');
    await closeEnded();
  });
  for (const c of [admin, vol]) assert.deepEqual(scriptErrors(c), [], 'no script errors in the pages');
});
