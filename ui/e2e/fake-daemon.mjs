// A stand-in for `llamenos demo`, in Node, for working on the browser app
// before (or without) the Go daemon: it serves dist/ with the daemon's
// security headers and implements most of docs/api.md in memory
// (challenge login with real BIP-340 verification, sessions, invites,
// volunteers, settings, the WebSocket with its 4001 close; calls placed by
// the demo routes ring, are answered, end; notes, fields, shifts, bans).
// There is NO media: rtc:offer is never answered, so a call stays
// "connecting audio". Passkeys are recorded but their signatures are NOT
// verified: this is a fake, never a server. Same command line as the daemon:
//   node e2e/fake-daemon.mjs demo --listen 127.0.0.1:8080 --data DIR
// The e2e harness uses it when LLAMENOS_BIN points at this file.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { b64urlDecode, b64urlEncode, parseEnvelope, parsePublicKeyHex, publicKeyHex, seal, utf8, verifyAuth } from '../src/crypto/index.js';
import { checkDefinitions } from '../src/fields.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../dist');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const listen = opt('--listen', '127.0.0.1:8080');
const dataDir = opt('--data', null);
const [host, portStr] = listen.split(':');
const port = Number(portStr);
const publicURL = process.env.LLAMENOS_SERVER_PUBLIC_URL || `http://localhost:${port}`;

const tok = (n = 32) => b64urlEncode(randomBytes(n));
const sha = (s) => createHash('sha256').update(s).digest('hex');
const now = () => new Date().toISOString();

const state = {
  setupToken: tok(24),
  challenges: new Map(), // b64 → {purpose, exp}
  sessions: new Map(), // hash → {pubkey}
  tickets: new Map(), // ticket → {pubkey, challenge, exp}
  regChallenges: new Map(), // pubkey → challenge
  users: new Map(), // pubkey → user
  invites: new Map(), // id → {codeHash, role, createdAt, expiresAt, usedAt}
  settings: {
    hotlineName: 'Demo Hotline',
    timeZone: 'UTC',
    languages: ['en', 'es'],
    queueTimeoutSeconds: 90,
    voicemailMode: 'auto',
    recording: false,
    rateLimit: { enabled: true, callsPerMinute: 3 },
    captcha: { enabled: false, maxAttempts: 3 },
    passkeyPolicy: { admins: false, volunteers: false },
  },
  sockets: new Set(), // {pubkey, socket}
  fields: [],
  shifts: { rules: [], overrides: [], fallback: [] },
  calls: new Map(), // id → call
  notes: new Map(), // id → note (+ history)
  bans: new Map(), // id → ban
};

const HEADERS = {
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
  'Content-Security-Policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self' ${publicURL.replace(/^http/, 'ws')}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'microphone=(self), camera=(), geolocation=()',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
const fail = (status, code, message = code) => {
  throw new HttpError(status, code, message);
};

function send(res, status, body, extra = {}) {
  res.writeHead(status, { ...HEADERS, 'Cache-Control': 'no-store', ...(body === null ? {} : { 'Content-Type': 'application/json' }), ...extra });
  res.end(body === null ? undefined : JSON.stringify(body));
}

function cookieOf(req) {
  const m = (req.headers.cookie || '').match(/(?:^|;\s*)__Host-llamenos_session=([^;]+)/);
  return m ? m[1] : null;
}

function sessionUser(req) {
  const c = cookieOf(req);
  const s = c && state.sessions.get(sha(c));
  if (!s) return null;
  const u = state.users.get(s.pubkey);
  return u && u.active ? u : null;
}

function newSession(pubkey) {
  const t = tok();
  state.sessions.set(sha(t), { pubkey });
  return { 'Set-Cookie': `__Host-llamenos_session=${t}; Path=/; HttpOnly; Secure; SameSite=Strict` };
}

function onShift() {
  return true;
}

const activeAdmins = () => [...state.users.values()].filter((x) => x.active && x.role === 'admin').map((x) => x.pubkey);
const onCall = (pk) => [...state.calls.values()].some((c) => c.answeredBy === pk && !c.endedAt);

function meOf(u) {
  return { pubkey: u.pubkey, role: u.role, available: u.available, onBreak: u.onBreak, onShift: onShift(u), onCall: onCall(u.pubkey), passkeys: u.passkeys.length, profile: u.profile, admins: activeAdmins() };
}

function volOf(u) {
  return { pubkey: u.pubkey, role: u.role, active: u.active, available: u.available, onBreak: u.onBreak, onShift: onShift(u), onCall: onCall(u.pubkey), createdAt: u.createdAt, lastSeenAt: u.lastSeenAt, profile: u.profile, passkeys: u.passkeys.length };
}

function takeChallenge(b64, purpose) {
  const c = state.challenges.get(b64);
  state.challenges.delete(b64);
  if (!c || c.purpose !== purpose || c.exp < Date.now()) fail(401, 'unauthorized', 'unknown or expired challenge');
}

function checkSig(body, purpose) {
  let pk;
  try {
    pk = parsePublicKeyHex(body.pubkey);
  } catch {
    fail(400, 'bad_request', 'pubkey');
  }
  takeChallenge(body.challenge, purpose);
  if (!verifyAuth(pk, purpose, publicURL, b64urlDecode(body.challenge), b64urlDecode(body.signature))) fail(401, 'unauthorized', 'bad signature');
}

function passkeyRequired(u) {
  return u.role === 'admin' ? state.settings.passkeyPolicy.admins : state.settings.passkeyPolicy.volunteers;
}

function wsSend(pubkey, msg) {
  for (const s of state.sockets) if (s.pubkey === pubkey) s.send(msg);
}

function closeSockets(pubkey, code) {
  for (const s of [...state.sockets]) if (s.pubkey === pubkey) s.close(code);
}

function revoke(pubkey) {
  for (const [h, s] of state.sessions) if (s.pubkey === pubkey) state.sessions.delete(h);
  closeSockets(pubkey, 4001);
}

async function persist() {
  // Write what a real store would hold: envelopes and pubkeys only.
  if (!dataDir) return;
  await writeFile(path.join(dataDir, 'fake.json'), JSON.stringify({ users: [...state.users.values()], invites: [...state.invites.values()], settings: state.settings }));
}

const routes = [];
const route = (method, pattern, auth, fn) => routes.push({ method, re: new RegExp('^' + pattern.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)') + '$'), auth, fn });

route('GET', '/api/health', null, () => ({ status: 'ok', version: 'fake', commit: 'fake', ari: 'disconnected' }));
route('GET', '/api/config', null, () => ({
  hotlineName: state.settings.hotlineName,
  setupRequired: ![...state.users.values()].some((u) => u.role === 'admin'),
  languages: state.settings.languages,
  passkeyPolicy: state.settings.passkeyPolicy,
  demo: true,
}));
route('POST', '/api/auth/challenge', null, ({ body }) => {
  if (!['login', 'setup', 'invite'].includes(body.purpose)) fail(400, 'bad_request', 'purpose');
  const c = tok(32);
  state.challenges.set(c, { purpose: body.purpose, exp: Date.now() + 120000 });
  return { challenge: c, expiresAt: new Date(Date.now() + 120000).toISOString() };
});
function newUser(pubkey, role, profile) {
  if (state.users.has(pubkey)) fail(409, 'conflict', 'key exists');
  const u = { pubkey, role, active: true, available: false, onBreak: false, createdAt: now(), lastSeenAt: now(), profile, passkeys: [] };
  state.users.set(pubkey, u);
  return u;
}
route('POST', '/api/setup', null, ({ body }) => {
  if ([...state.users.values()].some((u) => u.role === 'admin')) fail(410, 'gone', 'already set up');
  if (body.token !== state.setupToken) fail(401, 'unauthorized', 'bad token');
  checkSig(body, 'setup');
  const u = newUser(body.pubkey, 'admin', body.profile);
  return [{ pubkey: u.pubkey, role: u.role }, newSession(u.pubkey)];
});
function findInvite(code) {
  const inv = [...state.invites.values()].find((i) => i.codeHash === sha(code));
  if (!inv) fail(404, 'not_found', 'unknown invite');
  if (inv.usedAt || Date.parse(inv.expiresAt) < Date.now()) fail(410, 'gone', 'invite used or expired');
  return inv;
}
route('GET', '/api/invites/{code}', null, ({ p }) => {
  const inv = findInvite(p.code);
  const admins = [...state.users.values()].filter((x) => x.active && x.role === 'admin').map((x) => x.pubkey);
  return { role: inv.role, expiresAt: inv.expiresAt, admins };
});
route('POST', '/api/invites/{code}/accept', null, ({ p, body }) => {
  const inv = findInvite(p.code);
  checkSig(body, 'invite');
  inv.usedAt = now();
  const u = newUser(body.pubkey, inv.role, body.profile);
  return [{ pubkey: u.pubkey, role: u.role }, newSession(u.pubkey)];
});
route('POST', '/api/auth/login', null, ({ body }) => {
  checkSig(body, 'login');
  const u = state.users.get(body.pubkey);
  if (!u || !u.active) fail(401, 'unauthorized', 'unknown or inactive key');
  if (u.passkeys.length || passkeyRequired(u)) {
    if (!u.passkeys.length) fail(403, 'passkey_required', 'a passkey is required');
    const ticket = tok();
    const challenge = tok();
    state.tickets.set(ticket, { pubkey: u.pubkey, challenge, exp: Date.now() + 120000 });
    return {
      passkey: {
        ticket,
        options: { publicKey: { challenge, timeout: 60000, rpId: new URL(publicURL).hostname, allowCredentials: u.passkeys.map((c) => ({ type: 'public-key', id: c.id })), userVerification: 'required' } },
      },
    };
  }
  u.lastSeenAt = now();
  return [{ pubkey: u.pubkey, role: u.role }, newSession(u.pubkey)];
});
route('POST', '/api/auth/login/passkey', null, ({ body }) => {
  const t = state.tickets.get(body.ticket);
  state.tickets.delete(body.ticket);
  if (!t || t.exp < Date.now()) fail(401, 'unauthorized', 'ticket');
  const u = state.users.get(t.pubkey);
  const cred = body.credential || {};
  const cd = JSON.parse(Buffer.from(b64urlDecode(cred.response.clientDataJSON)).toString('utf8'));
  if (cd.type !== 'webauthn.get' || cd.challenge !== t.challenge || cd.origin !== publicURL) fail(401, 'unauthorized', 'client data');
  if (!u || !u.active || !u.passkeys.some((c) => c.id === cred.id)) fail(401, 'unauthorized', 'credential');
  const c = u.passkeys.find((x) => x.id === cred.id);
  c.lastUsedAt = now();
  return [{ pubkey: u.pubkey, role: u.role }, newSession(u.pubkey)];
});

route('GET', '/api/me', 'any', ({ u }) => meOf(u));
route('PUT', '/api/me/profile', 'any', ({ u, body }) => {
  u.profile = body.profile;
  return null;
});
route('PUT', '/api/me/availability', 'any', ({ u, body }) => {
  if (typeof body.available !== 'boolean' || typeof body.onBreak !== 'boolean') fail(400, 'bad_request', 'available/onBreak');
  u.available = body.available;
  u.onBreak = body.available && body.onBreak;
  const me = meOf(u);
  wsSend(u.pubkey, { type: 'me', ...me });
  pushLive();
  return me;
});
route('POST', '/api/auth/logout', null, ({ req }) => {
  const c = cookieOf(req);
  const s = c && state.sessions.get(sha(c));
  if (c) state.sessions.delete(sha(c));
  if (s && ![...state.sessions.values()].some((x) => x.pubkey === s.pubkey)) closeSockets(s.pubkey, 4001);
  return [null, { 'Set-Cookie': '__Host-llamenos_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0' }];
});
route('POST', '/api/auth/passkeys/options', 'any', ({ u }) => {
  const challenge = tok();
  state.regChallenges.set(u.pubkey, challenge);
  return {
    options: {
      publicKey: {
        rp: { name: state.settings.hotlineName, id: new URL(publicURL).hostname },
        user: { id: b64urlEncode(Buffer.from(u.pubkey, 'hex')), name: u.pubkey.slice(0, 16), displayName: u.pubkey.slice(0, 16) },
        challenge,
        pubKeyCredParams: [{ type: 'public-key', alg: -7 }, { type: 'public-key', alg: -257 }],
        timeout: 60000,
        excludeCredentials: u.passkeys.map((c) => ({ type: 'public-key', id: c.id })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
        attestation: 'none',
      },
    },
  };
});
route('POST', '/api/auth/passkeys', 'any', ({ u, body }) => {
  const cred = body.credential || {};
  const cd = JSON.parse(Buffer.from(b64urlDecode(cred.response.clientDataJSON)).toString('utf8'));
  if (cd.type !== 'webauthn.create' || cd.challenge !== state.regChallenges.get(u.pubkey)) fail(400, 'bad_request', 'client data');
  state.regChallenges.delete(u.pubkey);
  const c = { id: cred.id, name: String(body.name || 'passkey').slice(0, 64), createdAt: now(), lastUsedAt: null };
  u.passkeys.push(c);
  return c;
});
route('GET', '/api/auth/passkeys', 'any', ({ u }) => ({ passkeys: u.passkeys }));
route('DELETE', '/api/auth/passkeys/{id}', 'any', ({ u, p }) => {
  if (u.passkeys.length === 1 && passkeyRequired(u)) fail(409, 'conflict', 'last passkey');
  u.passkeys = u.passkeys.filter((c) => c.id !== decodeURIComponent(p.id));
  return null;
});

route('GET', '/api/volunteers', 'admin', () => ({ volunteers: [...state.users.values()].map(volOf) }));
route('PATCH', '/api/volunteers/{pubkey}', 'admin', ({ p, body }) => {
  const v = state.users.get(p.pubkey);
  if (!v) fail(404, 'not_found', 'no such volunteer');
  const activeAdmins = [...state.users.values()].filter((x) => x.active && x.role === 'admin');
  const demoting = (body.role === 'volunteer' && v.role === 'admin') || (body.active === false && v.role === 'admin');
  if (demoting && activeAdmins.length === 1) fail(409, 'conflict', 'last admin');
  if (body.role) v.role = body.role;
  if (typeof body.active === 'boolean') {
    v.active = body.active;
    if (!v.active) revoke(v.pubkey);
  }
  return volOf(v);
});
route('POST', '/api/invites', 'admin', ({ body }) => {
  if (!['volunteer', 'admin'].includes(body.role)) fail(400, 'bad_request', 'role');
  const code = tok(18);
  const id = tok(8);
  const inv = { id, codeHash: sha(code), role: body.role, createdAt: now(), expiresAt: new Date(Date.now() + (body.ttlHours || 168) * 3600e3).toISOString(), usedAt: null };
  state.invites.set(id, inv);
  return { id, code, url: `${publicURL}/#/invite/${code}`, role: inv.role, expiresAt: inv.expiresAt };
});
route('GET', '/api/invites', 'admin', () => ({ invites: [...state.invites.values()].map(({ codeHash, ...i }) => i) }));
route('DELETE', '/api/invites/{id}', 'admin', ({ p }) => {
  state.invites.delete(p.id);
  return null;
});
route('GET', '/api/settings', 'admin', () => state.settings);
route('PUT', '/api/settings', 'admin', ({ body }) => {
  if (typeof body.passkeyPolicy?.admins !== 'boolean') fail(400, 'bad_request', 'passkeyPolicy');
  state.settings = body;
  return state.settings;
});

// ---- calls, notes, fields, shifts, bans, demo ----

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uuid = () => crypto.randomUUID();

function pushLive() {
  const vols = [...state.users.values()].filter((u) => u.active);
  const presenceAdmin = { type: 'presence', available: vols.filter((u) => u.available && !u.onBreak && !onCall(u.pubkey)).length, onCall: vols.filter((u) => onCall(u.pubkey)).length, total: vols.length };
  const active = [...state.calls.values()].filter((c) => !c.endedAt).map((c) => ({ callId: c.id, state: c.answeredBy ? 'connected' : 'ringing', startedAt: c.startedAt, answeredBy: c.answeredBy || undefined }));
  for (const s of state.sockets) {
    const u = state.users.get(s.pubkey);
    if (!u) continue;
    if (u.role === 'admin') {
      s.send(presenceAdmin);
      s.send({ type: 'calls:active', calls: active });
    } else s.send({ type: 'presence', hasAvailable: presenceAdmin.available > 0 });
  }
}

function callView(c, admin) {
  const v = { id: c.id, startedAt: c.startedAt, queueWaitMs: c.queueWaitMs || 0, durationMs: c.durationMs || 0, outcome: c.outcome, hasNote: [...state.notes.values()].some((n) => n.callId === c.id), hasTranscript: false, hasVoicemail: false };
  if (c.answeredAt) v.answeredAt = c.answeredAt;
  if (c.endedAt) v.endedAt = c.endedAt;
  if (c.answeredBy) v.answeredBy = c.answeredBy;
  if (admin) v.callerNumber = c.callerNumber;
  return v;
}

function readableCall(u, id) {
  const c = state.calls.get(id);
  if (!c) fail(404, 'not_found', 'no such call');
  if (u.role !== 'admin' && c.answeredBy !== u.pubkey) fail(403, 'forbidden', 'only the volunteer who answered this call and admins can see it');
  return c;
}

function noteView(n) {
  return { id: n.id, callId: n.callId, author: n.author, createdAt: n.createdAt, updatedAt: n.updatedAt, revision: n.revision, envelope: n.envelope };
}

// requireRecipients: like the daemon, refuse an envelope that does not parse
// or is not addressed to every key in want.
function requireRecipients(env, want) {
  let p;
  try {
    p = parseEnvelope(b64urlDecode(String(env || '')));
  } catch {
    fail(400, 'bad_request', 'envelope is malformed');
  }
  const have = new Set(p.recipients.map((r) => publicKeyHex(r)));
  for (const k of want) if (!have.has(k)) fail(400, 'bad_request', 'envelope must be sealed to the author and every admin');
}

function endCall(c, reason) {
  if (c.endedAt) return;
  c.endedAt = now();
  if (c.answeredBy) {
    c.durationMs = Date.parse(c.endedAt) - Date.parse(c.answeredAt);
    wsSend(c.answeredBy, { type: 'call:ended', callId: c.id, reason });
  } else {
    c.outcome = reason === 'banned' ? 'banned' : 'abandoned';
    c.queueWaitMs = Date.parse(c.endedAt) - Date.parse(c.startedAt);
    for (const pk of c.rung) wsSend(pk, { type: 'ring:stop', callId: c.id, reason: 'caller-hung-up' });
  }
  pushLive();
}

function banFromCall(c, actor, reason) {
  const id = createHash('sha256').update('fake-ban:' + c.caller).digest('hex');
  state.bans.set(id, { id, number: c.callerNumber, callId: c.id, createdAt: now(), createdBy: actor, reason: reason || undefined });
  if (!c.endedAt) {
    if (c.answeredBy) c.outcome = 'banned';
    endCall(c, 'banned');
  }
}

route('GET', '/api/rtc', 'any', () => ({ iceServers: [] }));
route('GET', '/api/fields', 'any', () => ({ fields: state.fields }));
route('PUT', '/api/fields', 'admin', ({ body }) => {
  const problems = checkDefinitions(body.fields);
  if (problems.length) fail(400, 'bad_request', `field ${problems[0].index + 1}: ${problems[0].key}`);
  state.fields = body.fields;
  return { fields: state.fields };
});
route('GET', '/api/shifts', 'admin', () => state.shifts);
route('PUT', '/api/shifts', 'admin', ({ body }) => {
  state.shifts = { rules: body.rules.map((r) => ({ ...r, id: r.id || uuid() })), overrides: body.overrides, fallback: body.fallback };
  return state.shifts;
});
route('GET', '/api/calls', 'any', ({ u, req }) => {
  const q = new URL(req.url, publicURL).searchParams;
  let list = [...state.calls.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const vol = u.role === 'admin' ? q.get('volunteer') : u.pubkey;
  if (vol) list = list.filter((c) => c.answeredBy === vol);
  if (q.get('hasNote') === 'true') list = list.filter((c) => callView(c).hasNote);
  if (q.get('from')) list = list.filter((c) => c.startedAt >= q.get('from'));
  if (q.get('to')) list = list.filter((c) => c.startedAt.slice(0, 10) <= q.get('to'));
  const start = Number(q.get('cursor') || 0);
  const page = list.slice(start, start + 50);
  return { calls: page.map((c) => callView(c, u.role === 'admin')), next: start + 50 < list.length ? String(start + 50) : '' };
});
route('GET', '/api/calls/{id}', 'any', ({ u, p }) => callView(readableCall(u, p.id), u.role === 'admin'));
route('POST', '/api/calls/{id}/answer', 'any', ({ u, p }) => {
  const c = state.calls.get(p.id);
  if (!c || c.endedAt) fail(404, 'not_found', 'this call has ended or does not exist');
  if (!c.rung.includes(u.pubkey)) fail(403, 'forbidden', 'you were not rung for this call');
  if (c.answeredBy) fail(409, 'conflict', 'another volunteer answered this call');
  c.answeredBy = u.pubkey;
  c.answeredAt = now();
  c.outcome = 'answered';
  c.queueWaitMs = Date.parse(c.answeredAt) - Date.parse(c.startedAt);
  for (const pk of c.rung) wsSend(pk, { type: 'ring:stop', callId: c.id, reason: pk === u.pubkey ? 'answered' : 'answered-elsewhere' });
  wsSend(u.pubkey, { type: 'call:connected', callId: c.id });
  wsSend(u.pubkey, { type: 'me', ...meOf(u) });
  pushLive();
  return { callId: c.id };
});
route('POST', '/api/calls/{id}/decline', 'any', ({ u, p }) => {
  const c = state.calls.get(p.id);
  if (!c) fail(404, 'not_found', 'no such call');
  c.rung = c.rung.filter((x) => x !== u.pubkey);
  wsSend(u.pubkey, { type: 'ring:stop', callId: c.id, reason: 'declined' });
  return null;
});
route('POST', '/api/calls/{id}/hangup', 'any', ({ u, p }) => {
  const c = state.calls.get(p.id);
  if (!c || c.endedAt) fail(404, 'not_found', 'no such call');
  if (c.answeredBy !== u.pubkey) fail(403, 'forbidden', 'not your call');
  endCall(c, 'volunteer-hung-up');
  wsSend(u.pubkey, { type: 'me', ...meOf(u) });
  return null;
});
route('POST', '/api/calls/{id}/ban', 'any', ({ u, p, body }) => {
  const c = state.calls.get(p.id);
  if (!c) fail(404, 'not_found', 'no such call');
  if (u.role !== 'admin' && c.answeredBy !== u.pubkey) fail(403, 'forbidden', 'not your call');
  if (body.reason) requireRecipients(body.reason, activeAdmins());
  banFromCall(c, u.pubkey, body.reason);
  return null;
});
route('GET', '/api/calls/{id}/notes', 'any', ({ u, p }) => {
  const c = readableCall(u, p.id);
  return { notes: [...state.notes.values()].filter((n) => n.callId === c.id && (u.role === 'admin' || n.author === u.pubkey)).map(noteView) };
});
route('POST', '/api/calls/{id}/notes', 'any', ({ u, p, body }) => {
  const c = readableCall(u, p.id);
  if (c.answeredBy !== u.pubkey) fail(403, 'forbidden', 'only the volunteer who answered this call can write its notes');
  if (!UUID.test(String(body.id))) fail(400, 'bad_request', 'id must be a lowercase UUID');
  requireRecipients(body.envelope, [u.pubkey, ...activeAdmins()]);
  if (state.notes.has(body.id)) fail(409, 'conflict', 'a note with this id exists; edit it instead');
  const n = { id: body.id, callId: c.id, author: u.pubkey, createdAt: now(), updatedAt: now(), revision: 1, envelope: body.envelope, history: [] };
  state.notes.set(n.id, n);
  return noteView(n);
});
function readableNote(u, id) {
  const n = state.notes.get(id);
  if (!n) fail(404, 'not_found', 'no such note');
  if (u.role !== 'admin' && n.author !== u.pubkey) fail(403, 'forbidden', 'only its author and admins can read this note');
  return n;
}
route('GET', '/api/notes/{id}', 'any', ({ u, p }) => {
  const n = readableNote(u, p.id);
  return { ...noteView(n), history: n.history };
});
route('PUT', '/api/notes/{id}', 'any', ({ u, p, body }) => {
  const n = readableNote(u, p.id);
  if (n.author !== u.pubkey) fail(403, 'forbidden', 'only its author can edit a note');
  requireRecipients(body.envelope, [u.pubkey, ...activeAdmins()]);
  n.history.push({ revision: n.revision, envelope: n.envelope, writtenAt: n.updatedAt, replacedAt: now() });
  n.envelope = body.envelope;
  n.revision += 1;
  n.updatedAt = now();
  return noteView(n);
});
route('GET', '/api/notes', 'any', ({ u, req }) => {
  const q = new URL(req.url, publicURL).searchParams;
  const author = u.role === 'admin' && q.get('author') ? q.get('author') : u.pubkey;
  const list = [...state.notes.values()].filter((n) => n.author === author).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const start = Number(q.get('cursor') || 0);
  const limit = Number(q.get('limit') || 100);
  return { notes: list.slice(start, start + limit).map(noteView), next: start + limit < list.length ? String(start + limit) : '' };
});
route('GET', '/api/bans', 'admin', () => ({ bans: [...state.bans.values()] }));
route('POST', '/api/bans', 'admin', ({ u, body }) => {
  if (!/^\+[1-9][0-9]{6,14}$/.test(String(body.number || '').replace(/[ \-()]/g, ''))) fail(400, 'bad_request', 'number must be in international format');
  requireRecipients(body.sealed, activeAdmins());
  if (body.reason) requireRecipients(body.reason, activeAdmins());
  const id = createHash('sha256').update('fake-ban:' + body.number.replace(/[ \-()]/g, '')).digest('hex');
  state.bans.set(id, { id, number: body.sealed, createdAt: now(), createdBy: u.pubkey, reason: body.reason || undefined });
  return null;
});
route('DELETE', '/api/bans/{id}', 'admin', ({ p }) => {
  if (!state.bans.delete(p.id)) fail(404, 'not_found', 'no such ban');
  return null;
});
route('POST', '/api/demo/calls', 'admin', ({ body }) => {
  const caller = body.caller || '+1555010' + String(Math.floor(Math.random() * 10000)).padStart(4, '0');
  const id = uuid();
  const admins = activeAdmins().map(parsePublicKeyHex);
  const callerNumber = b64urlEncode(seal(utf8(caller), { purpose: 'caller-number', callId: id, itemId: 'caller' }, admins));
  const c = { id, caller, callerNumber, startedAt: now(), outcome: 'in_progress', rung: [] };
  state.calls.set(id, c);
  const banned = [...state.bans.values()].some((b) => b.id === createHash('sha256').update('fake-ban:' + caller).digest('hex'));
  if (banned) {
    c.outcome = 'banned';
    c.endedAt = now();
  } else {
    c.rung = [...state.users.values()].filter((u) => u.active && u.available && !u.onBreak && !onCall(u.pubkey)).map((u) => u.pubkey);
    for (const pk of c.rung) wsSend(pk, { type: 'ring', callId: id, startedAt: c.startedAt, ringAt: now() });
  }
  pushLive();
  return { id: 'demo-' + id, audio: body.audio || 'voice', answered: false, ended: !!c.endedAt, heardPackets: 0, heard: [] };
});
const demoCallOf = (id) => {
  const c = state.calls.get(String(id).replace(/^demo-/, ''));
  if (!c) fail(404, 'not_found', 'no such simulated call');
  return c;
};
route('GET', '/api/demo/calls/{id}', 'admin', ({ p }) => {
  const c = demoCallOf(p.id);
  return { id: p.id, audio: 'voice', answered: !!c.answeredBy, ended: !!c.endedAt, heardPackets: 0, heard: [] };
});
route('DELETE', '/api/demo/calls/{id}', 'admin', ({ p }) => {
  endCall(demoCallOf(p.id), 'caller-hung-up');
  return null;
});
route('GET', '/api/demo/asterisk', 'admin', () => ({ channels: [], bridges: [] }));
route('POST', '/api/demo/tamper/copy-note', 'admin', ({ body }) => {
  const src = state.notes.get(body.noteId);
  if (!src) fail(404, 'not_found', 'no such note');
  if (!state.calls.has(body.callId)) fail(404, 'not_found', 'no such call');
  const n = { id: uuid(), callId: body.callId, author: src.author, createdAt: now(), updatedAt: now(), revision: 1, envelope: src.envelope, history: [] };
  state.notes.set(n.id, n);
  return noteView(n);
});

async function readBody(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > 1 << 20) fail(413, 'payload_too_large', 'body too large');
    chunks.push(c);
  }
  if (!n) return {};
  if (!(req.headers['content-type'] || '').startsWith('application/json')) fail(415, 'unsupported_media_type', 'json only');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    fail(400, 'bad_request', 'bad JSON');
  }
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

async function handle(req, res) {
  const url = new URL(req.url, publicURL);
  if (!url.pathname.startsWith('/api/')) {
    const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    if (!/^[a-z0-9.-]+$/.test(name) || name === 'README.md') return send(res, 404, { error: { code: 'not_found', message: 'not found' } });
    try {
      const data = await readFile(path.join(dist, name));
      res.writeHead(200, { ...HEADERS, 'Content-Type': TYPES[path.extname(name)] || 'application/octet-stream', 'Cache-Control': 'no-cache' });
      return res.end(data);
    } catch {
      return send(res, 404, { error: { code: 'not_found', message: 'not found' } });
    }
  }
  try {
    if (req.method !== 'GET' && req.headers.origin !== publicURL) fail(403, 'forbidden', 'origin');
    const r = routes.map((x) => ({ x, m: req.method === x.method && url.pathname.match(x.re) })).find((y) => y.m);
    if (!r) fail(404, 'not_found', 'no such route');
    const u = sessionUser(req);
    if (r.x.auth && !u) fail(401, 'unauthorized', 'not signed in');
    if (r.x.auth === 'admin' && u.role !== 'admin') fail(403, 'forbidden', 'admins only');
    const body = ['POST', 'PUT', 'PATCH'].includes(req.method) ? await readBody(req) : {};
    const out = await r.x.fn({ req, u, body, p: r.m.groups || {} });
    await persist();
    const [payload, extra] = Array.isArray(out) ? out : [out, {}];
    if (payload === null) return send(res, 204, null, extra);
    return send(res, 200, payload, extra);
  } catch (err) {
    if (err instanceof HttpError) return send(res, err.status, { error: { code: err.code, message: err.message } });
    console.error(err);
    return send(res, 500, { error: { code: 'internal', message: 'internal error' } });
  }
}

// Minimal RFC 6455 server side: text frames and close, nothing else.
function upgrade(req, socket) {
  const u = sessionUser(req);
  if (req.url !== '/api/ws' || req.headers.origin !== publicURL || !u) {
    socket.end(`HTTP/1.1 ${u ? 403 : 401} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    return;
  }
  const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const frame = (op, payload) => {
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x80 | op, len]) : Buffer.from([0x80 | op, 126, len >> 8, len & 255]);
    return Buffer.concat([head, payload]);
  };
  const conn = {
    pubkey: u.pubkey,
    send(msg) {
      if (!socket.destroyed) socket.write(frame(1, Buffer.from(JSON.stringify(msg))));
    },
    close(code) {
      state.sockets.delete(conn);
      if (socket.destroyed) return;
      socket.write(frame(8, Buffer.from([code >> 8, code & 255])));
      socket.end();
    },
  };
  state.sockets.add(conn);
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 6) {
      const op = buf[0] & 15;
      let len = buf[1] & 127;
      let off = 2;
      if (len === 126) {
        len = buf.readUInt16BE(2);
        off = 4;
      }
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const data = Buffer.from(buf.subarray(off + 4, off + 4 + len)).map((b, i) => b ^ mask[i % 4]);
      buf = buf.subarray(off + 4 + len);
      if (op === 8) return conn.close(1000);
      if (op === 1) {
        try {
          if (JSON.parse(data.toString('utf8')).type === 'ping') conn.send({ type: 'pong' });
        } catch {
          // ignore
        }
      }
    }
  });
  socket.on('close', () => state.sockets.delete(conn));
  socket.on('error', () => state.sockets.delete(conn));
  const me = meOf(u);
  conn.send({ type: 'hello', pubkey: me.pubkey, role: me.role, available: me.available, onBreak: me.onBreak, onShift: me.onShift, onCall: me.onCall });
  pushLive();
}

if (dataDir) await mkdir(dataDir, { recursive: true });
const server = createServer((req, res) => handle(req, res));
server.on('upgrade', upgrade);
server.listen(port, host, () => {
  console.log(`fake llamenos demo on ${publicURL}`);
  console.log(`admin setup: ${publicURL}/#/setup/${state.setupToken}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => {
  for (const s of state.sockets) s.close(1001);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
