// The volunteer's home: who you are, whether you are on shift, and the
// availability switch. The ring card and the in-call panel (issue 6) live in
// #callbar above <main>, so they show on every screen; this screen only keeps
// its status current from the 'me' and 'hello' socket events.
import { h, button } from '../dom.js';
import { npub } from '../keys.js';
import { errorText, messageArea, title } from './parts.js';

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

  const yes = t('common.yes');
  const no = t('common.no');
  const dd = {
    role: h('dd'),
    shift: h('dd'),
    call: h('dd'),
    conn: h('dd'),
  };
  const availBtn = button(t('home.available'), () => toggle('available'), { kind: 'secondary', 'aria-pressed': 'false', id: 'toggle-available' });
  const breakBtn = button(t('home.onBreak'), () => toggle('onBreak'), { kind: 'secondary', 'aria-pressed': 'false', id: 'toggle-break' });
  const explain = h('p', { class: 'muted', id: 'avail-explain' });

  function paint() {
    const me = session.me || {};
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

  const offSession = session.onChange(paint);
  const offConn = ctx.onConnState(paintConn);
  paint();
  paintConn();

  const pk = session.pubkey;
  const node = h('div', { class: 'stack' },
    title(heading),
    msg.el,
    h('section', { class: 'card', 'aria-labelledby': 'status-h' },
      h('h2', { id: 'status-h' }, t('home.status')),
      h('dl', { class: 'status-grid' },
        h('dt', {}, t('home.role')), dd.role,
        h('dt', {}, t('home.onShift')), dd.shift,
        h('dt', {}, t('home.onCall')), dd.call,
        h('dt', {}, t('home.connection')), dd.conn,
      ),
      h('div', { class: 'row' }, availBtn, breakBtn),
      explain,
    ),
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
    },
  };
}
