import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, createSocket, CLOSE_REVOKED, CLOSE_FLOOD, CLOSE_SERVER_FULL, CLOSE_TOO_MANY_SOCKETS, refusalKey, wsURL } from '../src/ws.js';
import { fakeClock } from './helpers/fakes.js';

// FakeSocket stands in for the browser WebSocket: the test drives open,
// message and close; sent frames are recorded.
function fakeSockets() {
  const made = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      made.push(this);
    }
    send(s) {
      this.sent.push(JSON.parse(s));
    }
    close(code = 1000) {
      this.readyState = 3;
      this.closedWith = code;
    }
    serverOpen() {
      this.readyState = 1;
      this.onopen?.({});
    }
    serverSend(obj) {
      this.onmessage?.({ data: typeof obj === 'string' ? obj : JSON.stringify(obj) });
    }
    serverClose(code) {
      this.readyState = 3;
      this.onclose?.({ code });
    }
  }
  return { FakeSocket, made };
}

function setup(opts = {}) {
  const clock = fakeClock();
  const { FakeSocket, made } = fakeSockets();
  const states = [];
  let revoked = 0;
  const sock = createSocket({
    url: 'wss://h.example/api/ws',
    WebSocketImpl: FakeSocket,
    timers: clock,
    now: clock.now,
    random: () => 0.5,
    onState: (s) => states.push(s),
    onRevoked: () => revoked++,
    ...opts,
  });
  return { clock, made, states, sock, revoked: () => revoked };
}

test('wsURL follows the page scheme', () => {
  assert.equal(wsURL({ protocol: 'https:', host: 'h.example' }), 'wss://h.example/api/ws');
  assert.equal(wsURL({ protocol: 'http:', host: 'localhost:8080' }), 'ws://localhost:8080/api/ws');
});

test('backoffDelay doubles, is capped and jittered within [exp/2, exp]', () => {
  const lo = (a) => backoffDelay(a, { min: 1000, max: 30000, random: () => 0 });
  const hi = (a) => backoffDelay(a, { min: 1000, max: 30000, random: () => 0.999999 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map(lo), [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map(hi), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('messages are dispatched by type, junk is ignored, a throwing handler does not stop others', async () => {
  const { made, sock } = setup();
  const got = [];
  sock.on('ring', (m) => got.push(['ring', m.callId]));
  sock.on('ring', () => {
    throw new Error('boom');
  });
  sock.on('*', (m) => got.push(['*', m.type]));
  const off = sock.on('presence', (m) => got.push(['presence', m.total]));
  sock.start();
  made[0].serverOpen();
  const origError = console.error;
  console.error = () => {};
  try {
    made[0].serverSend({ type: 'ring', callId: 'c1' });
    made[0].serverSend('not json');
    made[0].serverSend({ notype: true });
    made[0].serverSend([1, 2]);
    made[0].serverSend({ type: 'presence', total: 3 });
    off();
    made[0].serverSend({ type: 'presence', total: 4 });
  } finally {
    console.error = origError;
  }
  assert.deepEqual(got, [['ring', 'c1'], ['*', 'ring'], ['presence', 3], ['*', 'presence'], ['*', 'presence']]);
});

test('reconnects with growing delays after drops, and resets after a stable connection', async () => {
  const { clock, made, sock, states } = setup();
  sock.start();
  assert.equal(made.length, 1);
  made[0].serverClose(1006); // never opened
  assert.deepEqual(clock.pending(), [375]); // attempt 0: 500 * (0.5 + 0.5*0.5)
  await clock.advance(375);
  assert.equal(made.length, 2);
  made[1].serverClose(1006);
  assert.deepEqual(clock.pending(), [750]);
  await clock.advance(750);
  made[2].serverClose(CLOSE_FLOOD); // flood close: back off like any drop
  assert.deepEqual(clock.pending(), [1500]);
  await clock.advance(1500);
  made[3].serverOpen();
  await clock.advance(60000); // stable for a minute (pings go out)
  assert.ok(made[3].sent.filter((m) => m.type === 'ping').length >= 2);
  made[3].serverClose(1001);
  assert.deepEqual(clock.pending(), [375], 'backoff reset after a stable connection');
  assert.ok(states.includes('open') && states.includes('waiting'));
});

test('the wait between attempts never exceeds 5 s, however long the server is down', async () => {
  const hi = (a) => backoffDelay(a, { random: () => 0.999999 });
  assert.deepEqual([0, 1, 2, 3, 4, 50].map(hi), [500, 1000, 2000, 4000, 5000, 5000]);
  const { clock, made, sock } = setup({ random: () => 0.999999 });
  sock.start();
  for (let i = 0; i < 12; i++) {
    made[i].serverClose(1006);
    const [wait] = clock.pending();
    assert.ok(wait <= 5000, `attempt ${i} waits ${wait} ms`);
    await clock.advance(wait);
  }
  assert.equal(made.length, 13);
});

test('the network coming back or the tab shown again reconnects at once', async () => {
  const win = new EventTarget();
  const doc = new EventTarget();
  doc.visibilityState = 'hidden';
  const { clock, made, sock } = setup({ win, doc });
  sock.start();
  made[0].serverOpen();
  // Open: nothing to hurry.
  win.dispatchEvent(new Event('online'));
  assert.equal(made.length, 1);
  for (let i = 0; i < 6; i++) {
    made[made.length - 1].serverClose(1006);
    if (i < 5) await clock.advance(clock.pending()[0]);
  }
  assert.equal(made.length, 6);
  assert.deepEqual(clock.pending(), [3750], 'backed off to the cap');
  win.dispatchEvent(new Event('online'));
  await clock.advance(0);
  assert.equal(made.length, 7, 'online: reconnected without waiting');
  made[6].serverClose(1006);
  assert.deepEqual(clock.pending(), [375], 'the backoff starts afresh after a wake');
  doc.dispatchEvent(new Event('visibilitychange')); // still hidden
  await clock.advance(0);
  assert.equal(made.length, 7);
  doc.visibilityState = 'visible';
  doc.dispatchEvent(new Event('visibilitychange'));
  await clock.advance(0);
  assert.equal(made.length, 8, 'shown: reconnected without waiting');
  // Stopped: the events no longer do anything.
  made[7].serverClose(1006);
  sock.stop();
  win.dispatchEvent(new Event('online'));
  await clock.advance(10000);
  assert.equal(made.length, 8);
});

test('a 4001 close stops the socket for good and reports revocation', async () => {
  const t = setup();
  t.sock.start();
  t.made[0].serverOpen();
  t.made[0].serverClose(CLOSE_REVOKED);
  assert.equal(t.revoked(), 1);
  assert.equal(t.sock.state, 'revoked');
  assert.deepEqual(t.clock.pending(), []);
  await t.clock.advance(120000);
  assert.equal(t.made.length, 1);
});

test('beforeReconnect returning false stops reconnecting', async () => {
  let asked = 0;
  const t = setup({ beforeReconnect: async () => (++asked, false) });
  t.sock.start();
  t.made[0].serverClose(1006);
  await t.clock.advance(1000);
  assert.equal(asked, 1);
  assert.equal(t.made.length, 1);
  assert.equal(t.sock.state, 'closed');
});

test('stop closes the socket, cancels timers, and late events from it are ignored', async () => {
  const t = setup();
  const got = [];
  t.sock.on('ring', (m) => got.push(m));
  t.sock.start();
  const first = t.made[0];
  first.serverOpen();
  assert.equal(t.sock.send({ type: 'rtc:offer', sdp: 'x' }), true);
  t.sock.stop();
  assert.equal(first.closedWith, 1000);
  assert.equal(t.sock.send({ type: 'ping' }), false);
  first.serverSend({ type: 'ring', callId: 'late' });
  first.serverClose(1006);
  await t.clock.advance(60000);
  assert.deepEqual(got, []);
  assert.equal(t.made.length, 1);
  assert.deepEqual(t.clock.pending(), []);
  // It can be started again (a new login).
  t.sock.start();
  assert.equal(t.made.length, 2);
});

test('a close at a connection limit names the limit, and the socket keeps retrying', async () => {
  assert.equal(refusalKey(CLOSE_TOO_MANY_SOCKETS), 'conn.tooManySockets');
  assert.equal(refusalKey(CLOSE_SERVER_FULL), 'conn.serverFull');
  for (const code of [1000, 1001, 1006, CLOSE_FLOOD, CLOSE_REVOKED]) assert.equal(refusalKey(code), null);
  const waits = [];
  const { clock, made, sock } = setup({ onState: (s, detail) => s === 'waiting' && waits.push(detail.code) });
  sock.start();
  made[0].serverClose(CLOSE_TOO_MANY_SOCKETS);
  await clock.advance(clock.pending()[0]);
  made[1].serverClose(CLOSE_SERVER_FULL);
  await clock.advance(clock.pending()[0]);
  assert.deepEqual(waits, [CLOSE_TOO_MANY_SOCKETS, CLOSE_SERVER_FULL], 'the page is told which limit refused it');
  assert.equal(made.length, 3, 'a refused socket tries again');
  made[2].serverOpen();
  assert.equal(sock.state, 'open');
});
