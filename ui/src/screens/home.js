// The volunteer's home: whether calls will ring here right now (available,
// on break, on shift), the switches, call notifications, drafts left on this
// device, and for admins the live view (who is available, calls in
// progress) and, in demo mode, a pretend caller. The ring card and the call
// panel are in the call bar above <main> (callbar.js), on every screen.
import { h, button } from '../dom.js';
import { npub } from '../keys.js';
import { elapsed, ringState } from '../ring.js';
import { tk } from '../i18n.js';
import { loadPeople } from './people.js';
import { errorText, messageArea, title } from './parts.js';

const LIVE_STATES = {
  ringing: tk('live.ringing'),
  queued: tk('live.queued'),
  connected: tk('live.connected'),
  answered: tk('live.connected'),
};

export async function homeScreen(ctx) {
  const { t, api, session } = ctx;
  const msg = messageArea();
  try {
    session.setMe(await api.me());
  } catch (err) {
    if (err.status === 401) return { title: t('home.title'), node: h('div') };
    msg.show('error', errorText(t, err));
  }
  const name = session.profile ? session.profile.name : null;
  const heading = name ? t('home.hello', { name }) : t('home.title');
  const admin = session.role === 'admin';

  const yes = t('common.yes');
  const no = t('common.no');
  const dd = { role: h('dd'), shift: h('dd'), call: h('dd'), conn: h('dd') };
  const pill = h('p', { class: 'status-pill', id: 'ring-state' });
  const availBtn = button(t('home.available'), () => toggle('available'), { kind: 'secondary', 'aria-pressed': 'false', id: 'toggle-available' });
  const breakBtn = button(t('home.onBreak'), () => toggle('onBreak'), { kind: 'secondary', 'aria-pressed': 'false', id: 'toggle-break' });
  const explain = h('p', { class: 'muted', id: 'avail-explain' });

  function paint() {
    const me = session.me || {};
    const st = ringState(me, ctx.ws.state);
    pill.textContent = t(st.key);
    pill.dataset.state = st.state;
    dd.role.textContent = me.role === 'admin' ? t('role.admin') : t('role.volunteer');
    dd.shift.textContent = me.onShift ? yes : no;
    dd.call.textContent = me.onCall ? yes : no;
    availBtn.setAttribute('aria-pressed', me.available ? 'true' : 'false');
    breakBtn.setAttribute('aria-pressed', me.onBreak ? 'true' : 'false');
    breakBtn.disabled = !me.available;
    explain.textContent = !me.available
      ? t('home.explainOff')
      : me.onBreak
        ? t('home.explainBreak')
        : st.state === 'offline'
          ? t('home.explainOffline')
          : me.onShift
            ? t('home.explainOn')
            : t('home.explainOffShift');
  }
  function paintConn() {
    const st = ctx.ws.state;
    dd.conn.textContent = st === 'open' ? t('conn.open') : st === 'closed' || st === 'idle' ? t('conn.closed') : t('conn.reconnecting');
  }

  let inflight = false;
  async function toggle(which) {
    if (inflight) return;
    const me = session.me || {};
    let available = !!me.available;
    let onBreak = !!me.onBreak;
    if (which === 'available') {
      available = !available;
      if (!available) onBreak = false;
    } else onBreak = !onBreak;
    // Becoming available is the moment to ask about notifications: it is a
    // click (browsers ask only after one) and the reason is obvious.
    if (available && !me.available) askNotifications();
    inflight = true;
    try {
      session.setMe(await api.setAvailability(available, onBreak));
      ctx.announce(available ? (onBreak ? t('home.nowBreak') : t('home.nowAvailable')) : t('home.nowUnavailable'));
    } catch (err) {
      msg.show('error', errorText(t, err));
    } finally {
      inflight = false;
    }
  }

  // Notifications.
  const N = globalThis.Notification;
  const notifText = h('p', { class: 'muted', id: 'notif-state' });
  const notifBtn = button(t('home.notifyEnable'), () => askNotifications(), { kind: 'secondary', hidden: true });
  function paintNotif() {
    const p = N ? N.permission : 'unsupported';
    notifBtn.hidden = p !== 'default';
    notifText.textContent = p === 'granted' ? t('home.notifyOn') : p === 'denied' ? t('home.notifyBlocked') : p === 'default' ? t('home.notifyAsk') : t('home.notifyUnsupported');
  }
  function askNotifications() {
    if (!N || N.permission !== 'default') return;
    try {
      Promise.resolve(N.requestPermission()).then(paintNotif, paintNotif);
    } catch {
      paintNotif();
    }
  }
  paintNotif();

  const offSession = session.onChange(paint);
  // Calls ring here only while this page is connected: the state follows
  // the connection too.
  const offConn = ctx.onConnState(() => {
    paint();
    paintConn();
  });
  paint();
  paintConn();

  const drafts = ctx.drafts.list();
  const draftCard = drafts.length
    ? h('section', { class: 'card', 'aria-labelledby': 'home-drafts-h' },
        h('h2', { id: 'home-drafts-h' }, t('drafts.title')),
        h('p', {}, t('drafts.homeExplain', { n: drafts.length })),
        h('ul', {}, ...drafts.map((d) => h('li', {}, h('a', { href: `#/calls/${encodeURIComponent(d.callId)}` }, t('drafts.item', { when: ctx.formatTime(d.savedAt) }))))))
    : null;

  const live = admin ? await liveCard(ctx) : null;

  const pk = session.pubkey;
  const node = h('div', { class: 'stack' },
    title(heading),
    msg.el,
    h('section', { class: 'card', 'aria-labelledby': 'status-h' },
      h('h2', { id: 'status-h' }, t('home.status')),
      pill,
      h('div', { class: 'row' }, availBtn, breakBtn),
      explain,
      h('dl', { class: 'status-grid' },
        h('dt', {}, t('home.role')), dd.role,
        h('dt', {}, t('home.onShift')), dd.shift,
        h('dt', {}, t('home.onCall')), dd.call,
        h('dt', {}, t('home.connection')), dd.conn,
      ),
      h('div', { class: 'row' }, notifBtn, notifText),
    ),
    draftCard,
    live ? live.el : null,
    h('section', { class: 'card', 'aria-labelledby': 'id-h' },
      h('h2', { id: 'id-h' }, t('home.identity')),
      name ? null : h('p', { class: 'muted' }, t('common.cannotDecrypt')),
      h('p', {}, t('home.publicKey')),
      h('p', { class: 'mono' }, pk ? npub(pk) : ''),
    ),
  );
  return {
    title: t('home.title'),
    node,
    cleanup() {
      offSession();
      offConn();
      if (live) live.cleanup();
    },
  };
}

// demoCallId: the pretend caller this tab placed last, kept across screens
// so "make the caller hang up" is still there when the admin comes back to
// Home during the call.
let demoCallId = null;

// liveCard: presence counts and calls in progress (admins), from the socket's
// presence and calls:active messages; in demo mode, the pretend caller.
async function liveCard(ctx) {
  const { t, api } = ctx;
  let people = null;
  try {
    people = await loadPeople(ctx);
  } catch {
    // Names are a nicety here; keys will do.
  }
  const counts = h('p', { id: 'presence' });
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted' }, t('live.noCalls'));
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'responsive' },
    h('caption', { class: 'visually-hidden' }, t('live.calls')),
    h('thead', {}, h('tr', {}, ...['live.state', 'live.started', 'live.answeredBy'].map((k) => h('th', { scope: 'col' }, t(k))))),
    tbody));

  function paint() {
    const p = ctx.live.presence;
    counts.textContent = p && typeof p.total === 'number' ? t('live.presence', { available: p.available, onCall: p.onCall, total: p.total }) : t('live.presenceUnknown');
    const calls = ctx.live.calls || [];
    empty.hidden = calls.length > 0;
    table.hidden = calls.length === 0;
    const now = Date.now();
    tbody.replaceChildren(...calls.map((c) => h('tr', { dataset: { callId: c.callId } },
      h('td', { 'data-label': t('live.state') }, LIVE_STATES[c.state] ? t(LIVE_STATES[c.state]) : c.state),
      h('td', { 'data-label': t('live.started') }, t('live.since', { time: ctx.formatTime(c.startedAt), elapsed: elapsed(now - Date.parse(c.startedAt)) })),
      h('td', { 'data-label': t('live.answeredBy') }, c.answeredBy ? (people ? people.nameOf(c.answeredBy) : c.answeredBy.slice(0, 12) + '…') : '—'))));
  }
  const off = ctx.onLive(paint);
  const timer = setInterval(paint, 5000);
  paint();

  let demo = null;
  if (ctx.config.demo) {
    const dmsg = messageArea();
    const end = button(t('demo.hangup'), async () => {
      if (!demoCallId) return;
      end.disabled = true;
      try {
        await api.demoHangup(demoCallId);
        dmsg.show('ok', t('demo.hungUp'));
      } catch (err) {
        dmsg.show('error', errorText(t, err));
      } finally {
        end.disabled = false;
        end.hidden = true;
        demoCallId = null;
      }
    }, { kind: 'secondary', hidden: !demoCallId });
    if (demoCallId) {
      // Placed before the admin left Home: still on the line?
      const id = demoCallId;
      api.demoCall(id).then((c) => {
        if (c && c.ended && demoCallId === id) {
          demoCallId = null;
          end.hidden = true;
        }
      }, () => {});
    }
    const place = button(t('demo.place'), async () => {
      place.disabled = true;
      try {
        const c = await api.demoPlaceCall('voice');
        demoCallId = (c && c.id) || null;
        end.hidden = !demoCallId;
        dmsg.show('ok', t('demo.placed'));
      } catch (err) {
        dmsg.show('error', errorText(t, err));
      } finally {
        place.disabled = false;
      }
    }, { kind: 'primary', id: 'demo-place' });
    demo = h('div', { class: 'demo stack' }, h('h3', {}, t('demo.title')), h('p', { class: 'hint' }, t('demo.explain')), dmsg.el, h('div', { class: 'row' }, place, end));
  }

  return {
    el: h('section', { class: 'card stack', 'aria-labelledby': 'live-h' }, h('h2', { id: 'live-h' }, t('live.title')), counts, empty, table, demo),
    cleanup() {
      off();
      clearInterval(timer);
    },
  };
}
