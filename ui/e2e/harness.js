// End-to-end harness: runs the real daemon (`llamenos demo`) and Debian's
// Chromium through playwright-core. It builds nothing: `make e2e` builds the
// UI bundle and the binary first. Everything it starts it stops, within
// bounded timeouts, and its temp directories are removed.
//
// Env:
//   LLAMENOS_BIN        daemon binary (default ../bin/llamenos from ui/)
//   LLAMENOS_CHROMIUM   browser (default /usr/bin/chromium)
//   LLAMENOS_E2E_KEEP=1 keep the temp dirs and print where they are
//   LLAMENOS_E2E_HEADFUL=1 show the browser (local debugging)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const uiRoot = path.resolve(here, '..');

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
];

export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`e2e: timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// poll calls fn until it returns a truthy value or the deadline passes.
export async function poll(fn, { timeout = 10000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`e2e: ${what} not reached in ${timeout} ms${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

function daemonCommand() {
  const bin = process.env.LLAMENOS_BIN || path.resolve(uiRoot, '../bin/llamenos');
  if (!existsSync(bin)) throw new Error(`e2e: daemon binary not found at ${bin}; run 'make build' or set LLAMENOS_BIN`);
  return bin;
}

// startDaemon runs `llamenos demo` on a free loopback port and waits for the
// setup URL on stdout and for /api/health.
async function startDaemon(dataDir, logFile, tmpDir, extraArgs = []) {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const bin = daemonCommand();
  const args = ['demo', '--listen', `127.0.0.1:${port}`, '--data', dataDir, ...extraArgs];
  const child = spawn(bin, args, {
    env: {
      ...process.env,
      // The browser talks to http://localhost:<port> (WebAuthn needs a
      // domain, and localhost is a secure context); that is the origin the
      // daemon must accept.
      LLAMENOS_SERVER_PUBLIC_URL: origin,
      // Its own temp directory, so the canary checks can read everything
      // the daemon wrote there.
      TMPDIR: tmpDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  let setupURL = null;
  let exited = null;
  const onData = (stream) => (chunk) => {
    const text = chunk.toString('utf8');
    log.push(text);
    if (stream === 'stdout' && !setupURL) {
      const m = text.match(/https?:\/\/[^\s"']+\/#\/setup\/[A-Za-z0-9_-]+/);
      if (m) setupURL = m[0];
    }
  };
  child.stdout.on('data', onData('stdout'));
  child.stderr.on('data', onData('stderr'));
  child.on('exit', (code, signal) => (exited = { code, signal }));

  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      try {
        await withTimeout(new Promise((r) => (exited ? r() : child.once('exit', r))), 10000, 'daemon exit after SIGTERM');
      } catch {
        child.kill('SIGKILL');
        await withTimeout(new Promise((r) => (exited ? r() : child.once('exit', r))), 5000, 'daemon exit after SIGKILL').catch(() => {});
      }
    }
    await writeFile(logFile, log.join('')).catch(() => {});
  };

  try {
    await poll(() => {
      if (exited) throw new Error(`daemon exited early (${JSON.stringify(exited)}):\n${log.join('').slice(-4000)}`);
      return setupURL;
    }, { timeout: 30000, what: 'setup URL on stdout' });
    await poll(async () => {
      if (exited) throw new Error(`daemon exited (${JSON.stringify(exited)})`);
      const r = await fetch(`http://127.0.0.1:${port}/api/health`);
      return r.ok;
    }, { timeout: 30000, what: '/api/health' });
  } catch (err) {
    await stop();
    err.message += `\n--- daemon output ---\n${log.join('').slice(-4000)}`;
    throw err;
  }
  // Whatever host the daemon printed, the browser uses localhost.
  const u = new URL(setupURL);
  return { port, origin, setupURL: `${origin}/${u.hash}`, child, log, stop };
}

// A browser context with one page, every WebSocket frame it receives, and
// optionally a DevTools virtual authenticator (a platform passkey that
// always verifies the user).
async function openContext(browser, origin, { authenticator = false, testHooks = false, ownBrowser = null } = {}) {
  const context = await browser.newContext({ baseURL: origin, acceptDownloads: true, viewport: { width: 1100, height: 900 }, permissions: ['microphone'] });
  context.setDefaultTimeout(20000);
  // The app's test hook (window.__llamenosAudio, see src/audio-probe.js) is
  // off unless this flag is set before the app starts.
  if (testHooks) await context.addInitScript(() => localStorage.setItem('llamenos.test', '1'));
  const page = await context.newPage();
  const sockets = [];
  page.on('websocket', (ws) => {
    const rec = { url: ws.url(), frames: [], closed: false };
    sockets.push(rec);
    ws.on('framereceived', (f) => rec.frames.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8')));
    ws.on('close', () => (rec.closed = true));
  });
  const consoleErrors = [];
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  let cdp = null;
  let authenticatorId = null;
  if (authenticator) {
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
  }
  return {
    context,
    page,
    sockets,
    consoleErrors,
    cdp,
    authenticatorId,
    // frames: every text frame received on any socket so far, parsed.
    messages() {
      return sockets.flatMap((s) => s.frames).map((f) => {
        try {
          return JSON.parse(f);
        } catch {
          return { raw: f };
        }
      });
    },
    async credentials() {
      if (!cdp) return [];
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
    async close() {
      await withTimeout(context.close(), 10000, 'context close').catch(() => {});
      if (ownBrowser) await withTimeout(ownBrowser.close(), 15000, 'browser close').catch(() => {});
    },
  };
}

export function launch(extraArgs = [], downloads) {
  return withTimeout(
    chromium.launch({
      executablePath: process.env.LLAMENOS_CHROMIUM || '/usr/bin/chromium',
      headless: process.env.LLAMENOS_E2E_HEADFUL !== '1',
      args: [...CHROMIUM_FLAGS, ...extraArgs],
      downloadsPath: downloads,
      timeout: 60000,
    }),
    90000,
    'chromium launch',
  );
}

// startHarness: temp dirs, daemon, browser. Call close() in an after hook.
// daemonArgs are added to `llamenos demo` (e.g. --test-transcriber).
export async function startHarness({ daemonArgs = [] } = {}) {
  const tmp = await mkdtemp(path.join(tmpdir(), 'llamenos-e2e-'));
  const dataDir = path.join(tmp, 'data');
  const downloads = path.join(tmp, 'downloads');
  const daemonTmp = path.join(tmp, 'daemon-tmp');
  let daemon = null;
  let browser = null;
  const contexts = [];
  const close = async () => {
    for (const c of contexts) await c.close();
    if (browser) await withTimeout(browser.close(), 15000, 'browser close').catch(() => {});
    if (daemon) await daemon.stop();
    if (process.env.LLAMENOS_E2E_KEEP === '1') console.log(`e2e: kept ${tmp}`);
    else await rm(tmp, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dataDir, { recursive: true });
    await mkdir(downloads, { recursive: true });
    await mkdir(daemonTmp, { recursive: true });
    daemon = await startDaemon(dataDir, path.join(tmp, 'daemon.log'), daemonTmp, daemonArgs);
    browser = await launch([], downloads);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    tmp,
    dataDir,
    daemonTmp,
    origin: daemon.origin,
    setupURL: daemon.setupURL,
    daemonLog: () => daemon.log.join(''),
    // closeDaemon stops the daemon (its files complete) before a canary
    // check; close() will not stop it twice.
    closeDaemon: () => daemon.stop(),
    // newContext opens a context in the shared browser, or, with
    // browserArgs (a fake microphone file, say), in a browser of its own:
    // Chromium takes those flags per process.
    async newContext(opts = {}) {
      const { browserArgs, ...rest } = opts;
      let b = browser;
      let own = null;
      if (browserArgs) b = own = await launch(browserArgs, downloads);
      const c = await openContext(b, daemon.origin, { ...rest, ownBrowser: own });
      contexts.push(c);
      return c;
    },
    close,
  };
}

// filesUnder lists every regular file below dir (the daemon's data dir).
export async function filesUnder(dir) {
  const out = [];
  for (const name of await readdir(dir).catch(() => [])) {
    const p = path.join(dir, name);
    const s = await stat(p);
    if (s.isDirectory()) out.push(...(await filesUnder(p)));
    else if (s.isFile()) out.push(p);
  }
  return out;
}

// findCanaries returns [file, canary] for every canary string found in any
// file below dir, as UTF-8 or UTF-16LE bytes.
export async function findCanaries(dir, canaries) {
  const hits = [];
  for (const f of await filesUnder(dir)) {
    const buf = await readFile(f);
    for (const c of canaries) {
      if (buf.includes(Buffer.from(c, 'utf8')) || buf.includes(Buffer.from(c, 'utf16le'))) hits.push([f, c]);
    }
  }
  return hits;
}
