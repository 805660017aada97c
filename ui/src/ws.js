// The one WebSocket to /api/ws: server events (ring, presence, me, …) and
// WebRTC signaling. It reconnects with short, capped, jittered exponential
// backoff (a volunteer who is not connected does not hear a ring), at once
// when the network comes back or the tab becomes visible, and gives up for
// good only when the server says the session is gone.

export const CLOSE_REVOKED = 4001; // session revoked: deactivated or logged out
export const CLOSE_FLOOD = 4008; // we sent too much; back off like any drop
export const CLOSE_TOO_MANY_SOCKETS = 4029; // this account has too many tabs or devices connected
export const CLOSE_SERVER_FULL = 1013; // the server has too many connections

// refusalKey: the message for a close that refused the connection at a
// limit (the socket keeps retrying), or null for any other close.
export function refusalKey(code) {
  if (code === CLOSE_TOO_MANY_SOCKETS) return 'conn.tooManySockets';
  if (code === CLOSE_SERVER_FULL) return 'conn.serverFull';
  return null;
}

// Reconnect delays: about half a second at first, doubling to at most 5 s.
export const MIN_DELAY_MS = 500;
export const MAX_DELAY_MS = 5000;

// backoffDelay: attempt 0 → about min, doubling up to max, with the upper
// half randomised so a server restart is not met by every browser at once.
export function backoffDelay(attempt, { min = MIN_DELAY_MS, max = MAX_DELAY_MS, random = Math.random } = {}) {
  const exp = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export function wsURL(loc) {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${loc.host}/api/ws`;
}

export function createSocket({
  url,
  WebSocketImpl = globalThis.WebSocket,
  timers = globalThis,
  random = Math.random,
  now = Date.now,
  minDelay = MIN_DELAY_MS,
  maxDelay = MAX_DELAY_MS,
  // Where 'online' and 'visibilitychange' are heard: a wait for the next
  // attempt is cut short when the network is back or the tab is shown.
  win = globalThis.window,
  doc = globalThis.document,
  pingMs = 25000,
  // A connection that stayed open this long resets the backoff.
  stableMs = 10000,
  onState = () => {},
  onRevoked = () => {},
  // Called before each reconnect attempt after a failure; resolving false stops
  // the socket (the app uses it to notice an expired session).
  beforeReconnect = async () => true,
} = {}) {
  const handlers = new Map();
  let sock = null;
  let attempt = 0;
  let retryTimer = null;
  let pingTimer = null;
  let openedAt = 0;
  let stopped = true;
  let state = 'idle';

  function setState(s, detail) {
    state = s;
    onState(s, detail);
  }

  function dispatch(msg) {
    for (const key of [msg.type, '*']) {
      const set = handlers.get(key);
      if (!set) continue;
      for (const fn of [...set]) {
        try {
          fn(msg);
        } catch (err) {
          // One bad handler must not starve the others (a ring must still ring).
          console.error('ws handler', msg.type, err);
        }
      }
    }
  }

  function clearTimers() {
    if (retryTimer) timers.clearTimeout(retryTimer);
    if (pingTimer) timers.clearInterval(pingTimer);
    retryTimer = null;
    pingTimer = null;
  }

  function connect() {
    if (stopped) return;
    setState('connecting');
    let s;
    try {
      s = new WebSocketImpl(url);
    } catch (err) {
      scheduleReconnect();
      return;
    }
    sock = s;
    s.onopen = () => {
      if (sock !== s) return;
      openedAt = now();
      setState('open');
      pingTimer = timers.setInterval(() => send({ type: 'ping' }), pingMs);
    };
    s.onmessage = (ev) => {
      if (sock !== s) return;
      let msg;
      try {
        msg = JSON.parse(typeof ev.data === 'string' ? ev.data : '');
      } catch {
        return;
      }
      if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
      dispatch(msg);
    };
    s.onerror = () => {};
    s.onclose = (ev) => {
      if (sock !== s) return;
      sock = null;
      if (pingTimer) timers.clearInterval(pingTimer);
      pingTimer = null;
      if (stopped) return;
      if (ev.code === CLOSE_REVOKED) {
        stopped = true;
        setState('revoked', ev.code);
        onRevoked(ev);
        return;
      }
      if (openedAt && now() - openedAt >= stableMs) attempt = 0;
      openedAt = 0;
      scheduleReconnect(ev.code);
    };
  }

  async function retry() {
    retryTimer = null;
    let go = true;
    try {
      go = await beforeReconnect();
    } catch {
      go = true;
    }
    if (stopped || sock) return;
    if (!go) {
      stop();
      return;
    }
    connect();
  }

  function scheduleReconnect(code) {
    if (stopped) return;
    const delay = backoffDelay(attempt, { min: minDelay, max: maxDelay, random });
    attempt++;
    setState('waiting', { delay, code });
    retryTimer = timers.setTimeout(retry, delay);
  }

  // wake: the network is back or the tab is in front again. A socket
  // waiting to reconnect tries now, with the backoff started afresh.
  function wake() {
    if (stopped || !retryTimer) return;
    timers.clearTimeout(retryTimer);
    attempt = 0;
    retry();
  }
  const onOnline = () => wake();
  const onVisibility = () => {
    if (doc && doc.visibilityState === 'visible') wake();
  };
  function listen(on) {
    const f = on ? 'addEventListener' : 'removeEventListener';
    if (win && typeof win[f] === 'function') win[f]('online', onOnline);
    if (doc && typeof doc[f] === 'function') doc[f]('visibilitychange', onVisibility);
  }

  function send(obj) {
    if (!sock || sock.readyState !== 1) return false;
    sock.send(JSON.stringify(obj));
    return true;
  }

  function start() {
    if (!stopped) return;
    stopped = false;
    attempt = 0;
    listen(true);
    connect();
  }

  function stop() {
    stopped = true;
    listen(false);
    clearTimers();
    const s = sock;
    sock = null;
    if (s) {
      try {
        s.close(1000);
      } catch {
        // Already closing.
      }
    }
    if (state !== 'revoked') setState('closed');
  }

  function on(type, fn) {
    if (!handlers.has(type)) handlers.set(type, new Set());
    handlers.get(type).add(fn);
    return () => handlers.get(type)?.delete(fn);
  }

  return {
    start,
    stop,
    send,
    on,
    wake,
    get state() {
      return state;
    },
  };
}
