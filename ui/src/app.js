// Entry point: wires the session, router, socket, auto-lock and panic wipe
// together and renders screens into <main>. Screens are async functions
// (ctx, params) → {title, node, cleanup?}.
import en from './locales/en.json';
import es from './locales/es.json';
import { createI18n, LANGUAGES, pickLanguage } from './i18n.js';
import { createApi } from './api.js';
import { createSocket, refusalKey, wsURL } from './ws.js';
import { guard, hrefFor, parseHash } from './router.js';
import { createSession, endLocal, panicLocal } from './session.js';
import { createAutoLock, DEFAULT_AUTOLOCK_MINUTES, AUTOLOCK_CHOICES } from './autolock.js';
import { createEscapeDetector } from './panic.js';
import { loadPrefs, savePrefs } from './storage.js';
import { openProfile, removeKeyStore, signAuth } from './keys.js';
import { getPasskey } from './webauthn.js';
import { errorText } from './errors.js';
import { append, h } from './dom.js';
import { setupScreen, inviteScreen } from './screens/onboard.js';
import { loginScreen } from './screens/login.js';
import { restoreScreen } from './screens/restore.js';
import { linkScreen } from './screens/link.js';
import { homeScreen } from './screens/home.js';
import { accountScreen } from './screens/account.js';
import { adminVolunteersScreen } from './screens/admin-volunteers.js';
import { adminInvitesScreen } from './screens/admin-invites.js';
import { adminSettingsScreen } from './screens/admin-settings.js';
import { blankScreen, enrolPasskeyScreen, notFoundScreen, setupNeededScreen } from './screens/misc.js';
import { callsScreen, callScreen } from './screens/calls.js';
import { adminFieldsScreen } from './screens/admin-fields.js';
import { adminShiftsScreen } from './screens/admin-shifts.js';
import { adminBansScreen } from './screens/admin-bans.js';
import { adminAuditScreen } from './screens/admin-audit.js';
import { adminDashboardScreen } from './screens/admin-dashboard.js';
import { adminVoicemailsScreen, adminVoicemailScreen } from './screens/admin-voicemails.js';
import { createCallbar, reportAndBanCall } from './callbar.js';
import { createDraftStore } from './drafts.js';
import { ringState, SHORT_STATES } from './ring.js';
import { createAdminSetUI } from './adminset-ui.js';

const SCREENS = {
  home: homeScreen,
  login: loginScreen,
  restore: restoreScreen,
  link: linkScreen,
  setup: setupScreen,
  invite: inviteScreen,
  account: accountScreen,
  adminVolunteers: adminVolunteersScreen,
  adminInvites: adminInvitesScreen,
  adminSettings: adminSettingsScreen,
  adminFields: adminFieldsScreen,
  adminShifts: adminShiftsScreen,
  adminBans: adminBansScreen,
  adminDashboard: adminDashboardScreen,
  adminVoicemails: adminVoicemailsScreen,
  adminVoicemail: adminVoicemailScreen,
  adminAudit: adminAuditScreen,
  calls: callsScreen,
  call: callScreen,
  blank: blankScreen,
  enrolPasskey: enrolPasskeyScreen,
  notFound: notFoundScreen,
};

const dicts = { en, es };
const supported = LANGUAGES.map((l) => l.code);
const main = document.getElementById('main');
const header = document.getElementById('site-header');
const callbarEl = document.getElementById('callbar');
const statusEl = document.getElementById('status');
const alertEl = document.getElementById('alert');

let prefs = loadPrefs(localStorage);
const i18n = createI18n(dicts, pickLanguage(prefs.lang, navigator.languages, supported));
const t = i18n.t;
const session = createSession();
let config = { hotlineName: '', setupRequired: false, passkeyPolicy: { admins: false, volunteers: false } };
let hotlineName = '';
let flash = null;
let returnTo = null;
let currentRoute = null;
let cleanup = null;
let renderSeq = 0;
const connListeners = new Set();
// connRefused: the message of the limit the server last refused the socket
// at, shown until the socket opens.
let connRefused = null;
let titleBase = '';
let titleBadge = null;
// What admins see live (presence counts, calls in progress), kept here so a
// screen opened later still has the latest.
const live = { presence: null, calls: [] };
const liveListeners = new Set();
const drafts = createDraftStore({ storage: localStorage });
let wasOpen = false;
let lostSinceOpen = false;

function autoLockMs() {
  const m = Number(prefs.autoLockMinutes);
  return (AUTOLOCK_CHOICES.includes(m) ? m : DEFAULT_AUTOLOCK_MINUTES) * 60000;
}

const api = createApi({
  onUnauthorized: () => sessionEnded('login.sessionExpired'),
});

const ws = createSocket({
  url: wsURL(location),
  onState: (state, detail) => {
    if (state === 'waiting') connRefused = refusalKey(detail?.code);
    else if (state !== 'connecting') connRefused = null;
    if (state !== 'open') session.callEvent({ type: 'socket:down' });
    for (const fn of connListeners) fn(state);
    renderConn();
    // Say it when the live connection drops and when it is back: a
    // volunteer who is not connected will not hear the ring.
    if (state === 'waiting' && wasOpen) announce(t('conn.reconnecting'));
    if (state === 'open' && lostSinceOpen) announce(t('conn.open'));
    lostSinceOpen = (lostSinceOpen || wasOpen) && state !== 'open';
    wasOpen = state === 'open';
  },
  onRevoked: () => sessionEnded('login.sessionRevoked'),
  // After a drop, make sure the session is still good before dialling again:
  // an expired session would otherwise be retried forever.
  beforeReconnect: async () => {
    try {
      await api.me({ expect401: true });
      return true;
    } catch (err) {
      if (err.status === 401) {
        sessionEnded('login.sessionExpired');
        return false;
      }
      return true; // the server is down: keep trying
    }
  },
});
ws.on('hello', (m) => {
  // rings are the call bar's (callbar.js); the rest is the account, and the
  // call (with call:connected and call:ended) is what says "on a call".
  const { type, rings, call, ...rest } = m;
  session.callEvent({ type: 'hello', call });
  session.setMe({ ...(session.me || {}), ...rest });
});
ws.on('call:connected', (m) => session.callEvent({ type: 'call:connected', callId: m.callId }));
ws.on('call:ended', (m) => session.callEvent({ type: 'call:ended', callId: m.callId }));
ws.on('presence', (m) => {
  const { type, ...rest } = m;
  live.presence = rest;
  for (const fn of liveListeners) fn(live);
});
ws.on('calls:active', (m) => {
  live.calls = Array.isArray(m.calls) ? m.calls : [];
  for (const fn of liveListeners) fn(live);
});
ws.on('me', (m) => {
  const me = m.me && typeof m.me === 'object' ? m.me : (({ type, ...rest }) => rest)(m);
  session.setMe({ ...(session.me || {}), ...me });
});

// A role change pushed by the server ('me' event) changes the navigation,
// and a demoted admin must leave the admin screens.
let shownRole = null;
session.onChange(() => {
  renderMeState();
  if (session.role === shownRole) return;
  shownRole = session.role;
  renderHeader();
  if (currentRoute && currentRoute.access === 'admin' && session.role !== 'admin') route();
});

const autolock = createAutoLock({ delayMs: autoLockMs(), onLock: () => lock('login.autoLocked') });

// ---- helpers given to screens ----

function announce(text, { assertive = false } = {}) {
  const el = assertive ? alertEl : statusEl;
  el.textContent = '';
  // A fresh text node after a tick is announced even when the text repeats.
  setTimeout(() => {
    el.textContent = text;
  }, 50);
}

function setFlash(kind, text) {
  flash = { kind, text };
}

function takeFlash() {
  const f = flash;
  flash = null;
  return f;
}

function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(i18n.lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

// The tab title: the screen's, with a badge in front while a call rings or
// is live, so a volunteer in another tab sees it.
function applyTitle() {
  if (document.body.classList.contains('blank')) {
    document.title = '\u200b';
    return;
  }
  document.title = titleBadge ? `(${titleBadge}) ${titleBase}` : titleBase;
}

function setTitleBadge(text) {
  titleBadge = text || null;
  applyTitle();
}

function go(hash) {
  if (location.hash === hash) route();
  else location.replace(hash);
}

function setHotlineName(name) {
  hotlineName = name || t('app.defaultName');
  renderHeader();
}

// establish: the server accepted us; install the key and start live updates.
async function establish(secretKey, pubkey, info) {
  session.unlock(secretKey, pubkey);
  session.signedIn({ pubkey, role: info && info.role ? info.role : session.role });
  const me = await api.me();
  session.setMe(me);
  session.setProfile(openProfile(me.profile, pubkey, secretKey));
  if (!me.mustEnrolPasskey) ws.start();
  autolock.setDelay(autoLockMs());
  autolock.start();
  renderHeader();
}

// passkeyEnrolled: the session that had to enrol a passkey has one now; the
// server lifted its restriction, so the app starts for real.
async function passkeyEnrolled() {
  const me = await api.me();
  session.setMe(me);
  if (!me.mustEnrolPasskey) ws.start();
  go(returnTo && returnTo !== '#/login' ? returnTo : '#/');
  returnTo = null;
}

async function dropServerSession() {
  ws.stop();
  try {
    await api.logout();
  } catch {
    // Already gone.
  }
  session.forget();
}

// completeLogin: the passphrase (or a backup) produced secretKey. Reuse a live
// session for the same key (unlock after auto-lock or a reload); otherwise
// sign a fresh challenge, and finish with a passkey when the server asks.
async function completeLogin(secretKey, pubkey, { onPasskey } = {}) {
  try {
    const me = await api.me({ expect401: true });
    if (me && me.pubkey === pubkey) {
      await establish(secretKey, pubkey, me);
      return;
    }
    if (me) await dropServerSession();
  } catch (err) {
    if (err.status !== 401) throw err;
  }
  const { challenge } = await api.challenge('login');
  const { signature } = signAuth('login', location.origin, challenge, secretKey);
  let res = await api.login({ pubkey, challenge, signature });
  if (res && res.passkey) {
    if (onPasskey) onPasskey();
    const credential = await getPasskey(navigator.credentials, res.passkey.options);
    res = await api.loginPasskey({ ticket: res.passkey.ticket, credential });
  }
  await establish(secretKey, pubkey, res);
}

function afterLoginNavigate() {
  const target = returnTo && returnTo !== '#/login' ? returnTo : '#/';
  returnTo = null;
  go(target);
}

function lock(reasonKey) {
  if (!session.unlocked) return;
  autolock.stop();
  session.lock();
  const cur = location.hash || '#/';
  if (currentRoute && currentRoute.access !== 'public') returnTo = cur;
  setFlash('', t(reasonKey));
  renderHeader();
  go('#/login');
}

function sessionEnded(reasonKey) {
  if (!session.pubkey) return;
  ws.stop();
  autolock.stop();
  calls.reset();
  endLocal(session, localStorage);
  returnTo = null;
  setFlash('warn', t(reasonKey));
  renderHeader();
  go('#/login');
}

async function logout() {
  ws.stop();
  autolock.stop();
  calls.reset();
  try {
    await api.logout();
  } catch {
    // Logged out on the server already, or unreachable: the device is wiped either way.
  }
  endLocal(session, localStorage);
  returnTo = null;
  setFlash('ok', t('login.loggedOut'));
  renderHeader();
  go('#/login');
}

async function removeDeviceKey() {
  await logout();
  removeKeyStore(localStorage);
  setFlash('ok', t('account.keyRemoved'));
  route();
}

// panic: no questions. Key, drafts, key store, prefs, the session — gone —
// and the tab shows a page that names nothing.
function panic() {
  ws.stop();
  autolock.stop();
  try {
    fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin', keepalive: true }).catch(() => {});
  } catch {
    // Best effort only.
  }
  calls.reset();
  panicLocal(session, localStorage, sessionStorage);
  flash = null;
  returnTo = null;
  if (cleanup) cleanup();
  cleanup = null;
  main.replaceChildren();
  header.replaceChildren();
  callbarEl.hidden = true;
  statusEl.textContent = '';
  alertEl.textContent = '';
  document.body.classList.add('blank');
  document.title = '\u200b';
  go('#/blank');
}

const ctx = {
  t,
  i18n,
  api,
  ws,
  session,
  drafts,
  get config() {
    return config;
  },
  announce,
  setFlash,
  takeFlash,
  formatTime,
  setHotlineName,
  completeLogin,
  afterLoginNavigate,
  dropServerSession,
  signIn: establish,
  setOnboarding,
  passkeyEnrolled,
  logout,
  removeDeviceKey,
  lock: () => lock('login.manualLocked'),
  prefs: () => ({ ...prefs, autoLockMinutes: autoLockMs() / 60000 }),
  setAutoLockMinutes(m) {
    prefs = savePrefs(localStorage, { autoLockMinutes: m });
    autolock.setDelay(autoLockMs());
  },
  onConnState(fn) {
    connListeners.add(fn);
    return () => connListeners.delete(fn);
  },
  live,
  onLive(fn) {
    liveListeners.add(fn);
    return () => liveListeners.delete(fn);
  },
};

const calls = createCallbar(ctx, callbarEl, { autolock, setTitleBadge });
// Above every screen: admin-set warnings and re-sealing progress.
const adminSetEl = h('div', { id: 'adminset', class: 'stack' });
main.before(adminSetEl);
createAdminSetUI(ctx, adminSetEl);
ctx.reportAndBan = (callId) => reportAndBanCall(ctx, callId);

// ---- header ----

function renderConn() {
  const el = header.querySelector('.conn');
  if (!el) return;
  const st = ws.state;
  el.dataset.state = st;
  el.textContent =
    st === 'open' ? t('conn.open') : st === 'closed' || st === 'idle' ? t('conn.closed') : connRefused ? t(connRefused) : t('conn.reconnecting');
  renderMeState();
}

// The header's word on whether calls ring here, from the same store and
// events as the home screen's line (session.me, the socket's state).
function renderMeState() {
  const el = header.querySelector('.me-state');
  if (!el) return;
  el.hidden = !session.me;
  if (!session.me) return;
  const st = ringState(session.me, ws.state);
  el.dataset.state = st.state;
  el.textContent = t(SHORT_STATES[st.state]);
}

// A click on the link of the screen already shown reloads that screen (no
// hashchange fires for it), which is what people expect from a nav link.
function sameRouteReload(ev) {
  if (ev.currentTarget.getAttribute('href') === location.hash) {
    ev.preventDefault();
    route();
  }
}

// onboarding: a new account is on its recovery backup step; the navigation
// stays hidden until it is saved or skipped knowingly.
let onboarding = false;
function setOnboarding(on) {
  onboarding = !!on;
  renderHeader();
}

function mustEnrol() {
  return !!(session.me && session.me.mustEnrolPasskey);
}

function renderHeader() {
  if (document.body.classList.contains('blank')) {
    header.replaceChildren();
    return;
  }
  const links = [];
  if (session.unlocked && !mustEnrol() && !onboarding) {
    links.push(['home', 'nav.home'], ['calls', 'nav.calls']);
    if (session.role === 'admin') {
      links.push(
        ['adminVolunteers', 'nav.volunteers'],
        ['adminInvites', 'nav.invites'],
        ['adminShifts', 'nav.shifts'],
        ['adminFields', 'nav.fields'],
        ['adminBans', 'nav.bans'],
        ['adminVoicemails', 'nav.voicemails'],
        ['adminDashboard', 'nav.dashboard'],
        ['adminAudit', 'nav.audit'],
        ['adminSettings', 'nav.settings'],
      );
    }
    links.push(['account', 'nav.account']);
  }
  const cur = currentRoute ? currentRoute.name : '';
  const langSel = h('select', { id: 'lang-select' }, ...LANGUAGES.map((l) => h('option', { value: l.code, selected: l.code === i18n.lang, lang: l.code }, l.name)));
  langSel.addEventListener('change', () => {
    if (i18n.setLang(langSel.value)) {
      prefs = savePrefs(localStorage, { lang: i18n.lang });
      document.documentElement.lang = i18n.lang;
      route();
    }
  });
  const nav = links.length
    ? h('nav', { 'aria-label': t('nav.label') },
        h('ul', {}, ...links.map(([name, key]) => h('li', {}, h('a', { href: hrefFor(name), 'aria-current': name === cur ? 'page' : undefined, on: { click: sameRouteReload } }, t(key))))))
    : null;
  // replaceChildren would print a null as the text "null": go through append.
  header.replaceChildren();
  // The brand, whether calls ring here and the tools share the first row
  // (on a phone the tools take a row of their own), the navigation has a
  // row of its own (app.css), so no language's longer words push things
  // around.
  append(header, [
    h('span', { class: 'brand' }, hotlineName),
    session.pubkey && !mustEnrol() ? h('span', { class: 'me-state', id: 'me-state', hidden: true }) : null,
    h('div', { class: 'tools' },
      session.pubkey ? h('span', { class: 'conn' }) : null,
      session.unlocked ? h('button', { type: 'button', class: 'btn btn-link', on: { click: () => lock('login.manualLocked') } }, t('nav.lock')) : null,
      session.unlocked ? h('button', { type: 'button', class: 'btn btn-link', on: { click: () => logout() } }, t('nav.logout')) : null,
      h('div', { class: 'lang' }, h('label', { for: 'lang-select' }, t('nav.language')), langSel)),
    nav,
  ]);
  renderConn();
}

// ---- routing ----

async function route() {
  const r = parseHash(location.hash);
  const blank = r.name === 'blank';
  document.body.classList.toggle('blank', blank);
  let name = r.name;
  if (!blank && config.setupRequired && r.name !== 'setup') name = 'setupNeeded';
  else if (session.unlocked && (r.name === 'login' || r.name === 'restore' || r.name === 'link')) {
    go('#/');
    return;
  } else {
    const g = guard(r, { unlocked: session.unlocked, role: session.role, mustEnrol: mustEnrol() });
    if (!g.ok) {
      if (g.redirect === 'login') returnTo = location.hash;
      go(hrefFor(g.redirect));
      return;
    }
  }
  const seq = ++renderSeq;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  main.setAttribute('aria-busy', 'true');
  let out;
  try {
    out = await (name === 'setupNeeded' ? setupNeededScreen : SCREENS[name])(ctx, r.params);
  } catch (err) {
    console.error('screen', name, err);
    out = { title: t('error.title'), node: h('div', {}, h('h1', { tabindex: '-1' }, t('error.title')), h('p', {}, errorText(t, err))) };
  }
  if (seq !== renderSeq) {
    if (out.cleanup) out.cleanup();
    return;
  }
  currentRoute = r;
  main.replaceChildren(out.node);
  main.removeAttribute('aria-busy');
  cleanup = out.cleanup || null;
  titleBase = out.title ? `${out.title} · ${hotlineName}` : hotlineName;
  applyTitle();
  renderHeader();
  const h1 = main.querySelector('h1');
  if (h1) {
    if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: false });
  }
}

// ---- global listeners ----

const escapes = createEscapeDetector();
window.addEventListener(
  'keydown',
  (ev) => {
    if (escapes.press(ev.key, performance.now(), ev.repeat)) panic();
  },
  true,
);
for (const type of ['pointerdown', 'keydown', 'touchstart', 'wheel', 'input']) {
  window.addEventListener(type, () => autolock.activity(), { capture: true, passive: true });
}
document.addEventListener('visibilitychange', () => autolock.check());
window.addEventListener('focus', () => autolock.check());
document.getElementById('skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

async function boot() {
  document.documentElement.lang = i18n.lang;
  hotlineName = t('app.defaultName');
  renderHeader();
  try {
    config = await api.config();
  } catch (err) {
    main.replaceChildren(
      h('h1', { tabindex: '-1' }, t('error.title')),
      h('p', {}, errorText(t, err)),
      h('button', { type: 'button', class: 'btn btn-primary', on: { click: () => location.reload() } }, t('common.retry')),
    );
    return;
  }
  setHotlineName(config.hotlineName);
  if (!config.setupRequired && parseHash(location.hash).name !== 'blank') {
    // A reload keeps the session cookie but not the key: start locked.
    try {
      const me = await api.me({ expect401: true });
      session.signedIn(me);
      session.setMe(me);
      if (!me.mustEnrolPasskey) ws.start();
    } catch {
      // Not signed in.
    }
  }
  window.addEventListener('hashchange', route);
  await route();
}

boot();
