// The call bar above <main>, on every screen: the ring cards, and the panel
// of the call this tab answered with its note editor. Decisions are made by
// ring.js's reducer; this file renders its state and runs the side effects:
// the ringtone, the notification, the tab title and icon, WebRTC (rtc.js)
// and the auto-lock pause while a call is live.
//
// A ring is hard to miss: a large card that pulses (and keeps still under
// prefers-reduced-motion), a role=alertdialog with focus on Answer, an
// assertive announcement, Alt+A / Alt+X from anywhere on the page, the
// ring sound (which keeps going in a background tab), a desktop
// notification when permitted, and the tab's title and icon. All of it
// stops in the same dispatch that removes the ring.
//
// What a ring shows: that a call is waiting and for how long. Nothing about
// the caller — the server sends nothing about them, and this code has
// nothing to show.
import { h, button } from './dom.js';
import { elapsed, endReasonKey, inCall, initialState, isRinging, reduce } from './ring.js';
import { createMediaSession } from './rtc.js';
import { createCallTabs } from './calltabs.js';
import { createRingtone } from './ringtone.js';
import { installAudioProbe } from './audio-probe.js';
import { sealBanReason } from './notes.js';
import { errorText } from './errors.js';
import { tk } from './i18n.js';
import { createNoteEditor, lockedNotice } from './screens/note-editor.js';
import { confirmDialog } from './screens/dialog.js';
import { sealingAdmins } from './adminset.js';

const NOTICE_MS = 8000;
// After asking to hang up, wait this long for the server's call:ended.
const HANGUP_WAIT_MS = 5000;

const MEDIA_TEXT = {
  new: tk('call.mediaConnecting'),
  connecting: tk('call.mediaConnecting'),
  connected: tk('call.mediaConnected'),
  reconnecting: tk('call.mediaReconnecting'),
  failed: tk('call.mediaFailed'),
  'no-microphone': tk('call.mediaNoMic'),
  closed: tk('call.mediaClosed'),
};

// The tab's icon while a call rings: the app's circle, in the ring's colour,
// with a white centre (img-src allows data: URLs).
const RING_ICON = 'data:image/svg+xml,' + encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#c2410c"/><circle cx="8" cy="8" r="3" fill="#ffffff"/></svg>');

// setRingIcon shows the ringing icon, or puts the page's own back.
let pageIcon = null;
function setRingIcon(on) {
  const link = document.querySelector('link[rel="icon"]');
  if (!link) return;
  if (pageIcon === null) pageIcon = link.getAttribute('href');
  const want = on ? RING_ICON : pageIcon;
  if (link.getAttribute('href') !== want) link.setAttribute('href', want);
}

const editable = (el) => !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));

export function createCallbar(ctx, el, { autolock, setTitleBadge }) {
  const { t, api, ws, session } = ctx;
  let s = initialState;
  const ringtone = createRingtone();
  let media = null;
  let probe = null;
  let notification = null;
  let ticker = null;
  let hangupTimer = null;

  // Persistent parts: the remote audio element (WebAudio only hears a remote
  // WebRTC track that is also playing in a media element), the notice line,
  // the ring list and the call panel. Only what changes is rebuilt, so the
  // note being typed is never re-created under the volunteer's fingers.
  const audio = h('audio', { autoplay: true, class: 'remote-audio' });
  const noticeEl = h('p', { class: 'call-notice', hidden: true });
  const ringsEl = h('div', { class: 'rings' });
  const callEl = h('div', { class: 'call-slot' });
  el.replaceChildren(noticeEl, ringsEl, callEl, audio);

  // ---- rendering ----

  let ringCards = new Map(); // callId → {card, since}
  function renderRings(prev) {
    const ids = s.rings.map((r) => r.callId);
    for (const [id, rc] of ringCards) {
      if (!ids.includes(id)) {
        rc.card.remove();
        ringCards.delete(id);
      }
    }
    let firstNew = null;
    for (const r of s.rings) {
      if (ringCards.has(r.callId)) continue;
      const id = 'ring-' + r.callId;
      const since = h('p', { class: 'ring-since', id: id + '-since' });
      const sound = h('p', { class: 'ring-sound', hidden: true }, t('ring.soundBlocked'));
      const answerBtn = button(t('ring.answer'), () => answer(r.callId), { kind: 'primary', class: 'btn btn-primary btn-answer', dataset: { callId: r.callId } });
      const declineBtn = button(t('ring.decline'), () => decline(r.callId), { kind: 'secondary', class: 'btn btn-secondary btn-decline' });
      const card = h('section', {
        class: 'ring-card', role: 'alertdialog', 'aria-modal': 'false', 'aria-labelledby': id + '-h', 'aria-describedby': `${id}-since ${id}-keys`, dataset: { callId: r.callId },
      },
        h('h2', { id: id + '-h' }, h('span', { class: 'ring-bell', 'aria-hidden': 'true' }), t('ring.incoming')),
        since,
        h('div', { class: 'ring-actions' }, answerBtn, declineBtn),
        h('p', { class: 'ring-keys', id: id + '-keys' }, t('ring.keysHint')),
        sound);
      ringCards.set(r.callId, { card, since, sound, answerBtn, declineBtn, receivedAt: r.receivedAt });
      ringsEl.append(card);
      if (!firstNew) firstNew = answerBtn;
    }
    // The shortcuts act on the first ring (the oldest call).
    s.rings.forEach((r, i) => {
      const rc = ringCards.get(r.callId);
      for (const [btn, keys] of [[rc.answerBtn, 'Alt+A'], [rc.declineBtn, 'Alt+X']]) {
        if (i === 0) btn.setAttribute('aria-keyshortcuts', keys);
        else btn.removeAttribute('aria-keyshortcuts');
      }
    });
    if (firstNew && prev.rings.length === 0) {
      ctx.announce(t('ring.incoming'), { assertive: true });
      // Focus goes to Answer, unless the volunteer is typing (a note for the
      // last call, say): a space bar press must not answer a call by accident.
      if (!editable(document.activeElement)) firstNew.focus();
    }
    tickRings();
  }

  function tickRings() {
    const now = Date.now();
    const blocked = ringtone.blocked;
    for (const rc of ringCards.values()) {
      rc.since.textContent = t('ring.ringingFor', { time: elapsed(now - rc.receivedAt) });
      // Said after a second: a resume the browser allows takes a moment.
      rc.sound.hidden = !blocked || now - rc.receivedAt < 1000;
    }
  }

  let panel = null; // {callId, root, status, timer, media, mute, hangup, ban, close, editorSlot, editor}
  function buildPanel(call) {
    const status = h('p', { class: 'call-status', role: 'status' });
    const timer = h('span', { class: 'call-timer', 'aria-label': t('call.duration') });
    const mediaEl = h('p', { class: 'call-media' });
    const mute = button(t('call.mute'), () => toggleMute(), { kind: 'secondary', 'aria-pressed': 'false' });
    const hangup = button(t('call.hangup'), () => hangupCall(), { kind: 'danger' });
    const ban = button(t('call.reportBan'), () => reportAndBan(), { kind: 'secondary' });
    const close = button(t('call.close'), () => dispatch({ type: 'dismiss' }), { kind: 'secondary', hidden: true });
    const err = h('p', { class: 'field-error', hidden: true });
    const editorSlot = h('div', { class: 'call-note' });
    // The caller was told the call is transcribed; so is the volunteer.
    const transcribed = h('p', { class: 'notice info call-transcribed', hidden: true }, t('call.transcribed'));
    const root = h('section', { class: 'call-panel', 'aria-labelledby': 'call-h', dataset: { callId: call.callId } },
      h('div', { class: 'call-head' }, h('h2', { id: 'call-h' }, t('call.title')), timer),
      status,
      transcribed,
      mediaEl,
      err,
      h('div', { class: 'row' }, mute, hangup, ban, close),
      editorSlot);
    panel = { callId: call.callId, root, status, timer, mediaEl, mute, hangup, ban, close, err, editorSlot, editor: null, editorPending: false, transcribed, transcribedAsked: false };
    callEl.replaceChildren(root);
    mountEditor();
  }

  // askTranscribed reads the call record once the daemon says the call is
  // connected (or rejoined): only then is the record the volunteer's to
  // read. The answer's reply can come first.
  function askTranscribed(c) {
    const p = panel;
    if (!p || p.transcribedAsked || p.callId !== c.callId) return;
    p.transcribedAsked = true;
    api.call(c.callId).then(
      (rec) => {
        p.transcribed.hidden = !rec.transcribed;
      },
      () => {},
    );
  }

  function mountEditor() {
    const p = panel;
    if (!p || p.editor || p.editorPending) return;
    if (!session.unlocked) {
      p.editorSlot.replaceChildren(lockedNotice(t));
      return;
    }
    p.editorPending = true;
    createNoteEditor(ctx, { callId: p.callId, headingLevel: 'h3' }).then(
      (ed) => {
        p.editorPending = false;
        if (panel !== p) {
          ed.destroy();
          return;
        }
        p.editor = ed;
        p.editorSlot.replaceChildren(ed.el);
      },
      (err) => {
        p.editorPending = false;
        p.editorSlot.replaceChildren(h('p', { class: 'field-error' }, errorText(t, err)));
      },
    );
  }

  function dropPanel() {
    if (!panel) return;
    if (panel.editor) {
      const kept = panel.editor.dirty;
      panel.editor.destroy();
      if (kept) ctx.announce(t('call.draftKept'));
    }
    panel = null;
    callEl.replaceChildren();
  }

  function renderCall() {
    const c = s.call;
    if (!c) {
      dropPanel();
      return;
    }
    if (!panel || panel.callId !== c.callId) {
      dropPanel();
      buildPanel(c);
    }
    const ended = c.phase === 'ended';
    panel.root.classList.toggle('ended', ended);
    panel.status.textContent =
      c.phase === 'answering' ? t('call.answering') : c.phase === 'connecting' ? t('call.connecting') : c.phase === 'live' ? t('call.live') : t(endReasonKey(c.reason));
    panel.mediaEl.textContent = ended ? '' : t(MEDIA_TEXT[c.media] || MEDIA_TEXT.connecting);
    panel.mediaEl.dataset.state = c.media;
    panel.mute.hidden = ended;
    panel.hangup.hidden = ended;
    panel.ban.hidden = ended || c.phase === 'answering';
    panel.close.hidden = !ended;
    tickCall();
  }

  function tickCall() {
    if (!panel || !s.call) return;
    const c = s.call;
    const from = c.connectedAt ?? c.answeredAt;
    const to = c.endedAt ?? Date.now();
    panel.timer.textContent = from ? elapsed(to - from) : '';
  }

  function showNotice() {
    if (s.notice) {
      noticeEl.textContent = t(s.notice.key);
      noticeEl.hidden = false;
    } else {
      noticeEl.textContent = '';
      noticeEl.hidden = true;
    }
  }

  function renderBar() {
    el.hidden = !(s.rings.length || s.call || s.notice);
    el.classList.toggle('ringing', isRinging(s));
  }

  // ---- side effects ----

  function notify(prev) {
    const N = globalThis.Notification;
    if (isRinging(s) && prev.rings.length === 0 && N && N.permission === 'granted') {
      try {
        // Generic on purpose: a lock screen shows this to anyone nearby.
        const n = new N(t('ring.incoming'), { body: t('ring.notifyBody'), tag: 'llamenos-ring', requireInteraction: true });
        notification = n;
        // A click on it means "take me to the call": the tab comes forward
        // with focus on Answer, even if a field had it when the ring came.
        n.onclick = () => {
          window.focus();
          const first = s.rings.length ? ringCards.get(s.rings[0].callId) : null;
          if (first) first.answerBtn.focus();
          n.close();
        };
      } catch {
        notification = null;
      }
    }
    if (!isRinging(s) && notification) {
      notification.close();
      notification = null;
    }
  }

  function startMedia(callId) {
    media = createMediaSession({
      callId,
      send: (m) => ws.send(m),
      getIceServers: async () => {
        try {
          const r = await api.rtc();
          return (r && r.iceServers) || [];
        } catch {
          // No STUN/TURN configured (or an older server): host candidates
          // still work on the same machine or network.
          return [];
        }
      },
      getUserMedia: (c) => navigator.mediaDevices.getUserMedia(c),
      RTCPeerConnection: globalThis.RTCPeerConnection,
      receiverCapabilities: (kind) => (globalThis.RTCRtpReceiver && RTCRtpReceiver.getCapabilities ? RTCRtpReceiver.getCapabilities(kind) : null),
      onState: (state) => dispatch({ type: 'media', callId, state }),
      onRemoteStream: (stream) => {
        audio.srcObject = stream;
        audio.play().catch(() => {});
        if (probe) probe.close();
        probe = installAudioProbe(stream);
      },
      onError: (what, err) => {
        console.warn('call media', what, err && err.name ? err.name : err);
        if (what === 'microphone' && panel) showPanelError(t('call.micDenied'));
      },
    });
    media.start();
  }

  function stopMedia() {
    if (media) media.stop();
    media = null;
    if (probe) probe.close();
    probe = null;
    audio.srcObject = null;
  }

  function showPanelError(text) {
    if (!panel) return;
    panel.err.textContent = text || '';
    panel.err.hidden = !text;
  }

  function effects(prev, ev) {
    if (isRinging(s) && !inCall(s)) ringtone.start();
    else ringtone.stop();
    notify(prev);
    setTitleBadge(isRinging(s) ? t('ring.incoming') : inCall(s) ? t('call.badge') : null);
    setRingIcon(isRinging(s));

    if (inCall(s) && !inCall(prev)) autolock.pause();
    if (!inCall(s) && inCall(prev)) autolock.resume();

    const c = s.call;
    if (c && (ev.type === 'call:connected' || ev.type === 'rejoin') && c.callId === ev.callId && !media && c.phase !== 'ended') startMedia(c.callId);
    if (c && (ev.type === 'call:connected' || ev.type === 'rejoin') && c.callId === ev.callId) askTranscribed(c);
    if ((!c || c.phase === 'ended') && media) stopMedia();
    if (c && c.phase === 'ended' && prev.call && prev.call.phase !== 'ended') {
      if (hangupTimer) clearTimeout(hangupTimer);
      hangupTimer = null;
      ctx.announce(t(endReasonKey(c.reason)), { assertive: true });
    }
    if (s.notice && s.notice !== prev.notice) {
      ctx.announce(t(s.notice.key));
      const at = s.notice.at;
      setTimeout(() => dispatch({ type: 'notice:clear', at }), NOTICE_MS);
    }
    const ticking = isRinging(s) || inCall(s);
    if (ticking && !ticker) {
      ticker = setInterval(() => {
        tickRings();
        tickCall();
      }, 1000);
    } else if (!ticking && ticker) {
      clearInterval(ticker);
      ticker = null;
    }
  }

  function dispatch(ev) {
    const prev = s;
    s = reduce(s, { now: Date.now(), ...ev });
    if (s === prev) return;
    // The bar is shown first: focus cannot move into a hidden element.
    renderBar();
    renderRings(prev);
    renderCall();
    showNotice();
    effects(prev, ev);
  }

  // ---- actions ----

  async function answer(callId) {
    ringtone.unlock();
    dispatch({ type: 'answer', callId });
    if (!s.call || s.call.callId !== callId) return;
    try {
      await api.answer(callId);
      dispatch({ type: 'answer:ok', callId });
    } catch (err) {
      dispatch({ type: 'answer:failed', callId, status: err.status });
    }
  }

  function decline(callId) {
    dispatch({ type: 'decline', callId });
    api.decline(callId).catch(() => {});
  }

  function toggleMute() {
    if (!media || !panel) return;
    const m = media.setMuted(!media.muted);
    panel.mute.setAttribute('aria-pressed', m ? 'true' : 'false');
    ctx.announce(m ? t('call.muted') : t('call.unmuted'));
  }

  async function hangupCall() {
    const c = s.call;
    if (!c || c.phase === 'ended') return;
    panel.hangup.disabled = true;
    try {
      await api.hangup(c.callId);
    } catch (err) {
      if (err.status !== 404) {
        panel.hangup.disabled = false;
        showPanelError(errorText(t, err));
        return;
      }
    }
    // The server confirms with call:ended; if the socket is down, end here.
    const id = c.callId;
    hangupTimer = setTimeout(() => dispatch({ type: 'call:ended', callId: id, reason: 'volunteer-hung-up' }), HANGUP_WAIT_MS);
  }

  async function reportAndBan() {
    const c = s.call;
    if (!c) return;
    const r = await reportAndBanCall(ctx, c.callId);
    if (r === 'failed' && panel) showPanelError(t('ban.failed'));
    if (r === 'withheld' && panel) showPanelError(t('ban.withheld'));
  }

  // ---- wiring ----

  // A call the daemon says is ours that no tab carries comes back here.
  const tabs = createCallTabs({
    carrying: (callId) => inCall(s) && s.call.callId === callId,
    onRejoin: (callId) => dispatch({ type: 'rejoin', callId }),
  });

  // The socket dropped since the last hello.
  let wasDown = false;
  const off = [
    ws.on('ring', (m) => dispatch({ type: 'ring', callId: m.callId, startedAt: m.startedAt })),
    ws.on('ring:stop', (m) => dispatch({ type: 'ring:stop', callId: m.callId, reason: m.reason })),
    ws.on('call:connected', (m) => dispatch({ type: 'call:connected', callId: m.callId })),
    ws.on('call:ended', (m) => {
      tabs.ended(m.callId);
      dispatch({ type: 'call:ended', callId: m.callId, reason: m.reason });
    }),
    ws.on('rtc:answer', (m) => media && media.handle(m)),
    ws.on('rtc:candidate', (m) => media && media.handle(m)),
    ws.on('error', (m) => {
      // The daemon no longer has the call this tab is on (it restarted, or
      // the call ended while the socket was down): the call is over here too.
      const before = s;
      if (typeof m.callId === 'string') dispatch({ type: 'refused', callId: m.callId, code: m.code });
      if (s === before && inCall(s)) showPanelError(m.message || m.code);
    }),
    // Every (re)connection opens with the daemon's truth: the rings and the
    // call this volunteer has. After a drop, a call the daemon still has
    // gets its media offered again (the daemon may have dropped its side);
    // one this tab does not show is taken back unless another tab has it.
    ws.on('hello', (m) => {
      dispatch({ type: 'sync', rings: m.rings, call: m.call });
      const back = wasDown;
      wasDown = false;
      const c = s.call;
      if (back && media && c && (c.phase === 'connecting' || c.phase === 'live')) media.socketBack();
      tabs.sync(m.call && typeof m.call.callId === 'string' ? m.call.callId : null);
    }),
  ];

  const offConn = ctx.onConnState((state) => {
    if (state !== 'open' && ws.state !== 'idle') wasDown = true;
  });

  // The editor needs the key: build it when the tab is unlocked again.
  const offSession = session.onChange(() => {
    if (panel && !panel.editor && session.unlocked) mountEditor();
  });

  const onGesture = () => ringtone.unlock();
  window.addEventListener('pointerdown', onGesture, true);
  window.addEventListener('keydown', onGesture, true);

  // Alt+A answers and Alt+X declines the first ring from anywhere on the
  // page, a note field included (Alt+letter types nothing there; on a Mac,
  // Option+letter would, and is taken here instead). Not Alt+D: browsers
  // use it for the address bar.
  const onShortcut = (ev) => {
    if (!isRinging(s) || !ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.repeat) return;
    // The letter typed; the key's place when Option made it another character.
    const letter = /^[a-z]$/i.test(ev.key) ? ev.key.toLowerCase() : typeof ev.code === 'string' && ev.code.startsWith('Key') ? ev.code.slice(3).toLowerCase() : '';
    const k = letter === 'a' ? 'answer' : letter === 'x' ? 'decline' : null;
    if (!k) return;
    ev.preventDefault();
    const id = s.rings[0].callId;
    if (k === 'answer') answer(id);
    else decline(id);
  };
  window.addEventListener('keydown', onShortcut);

  renderBar();

  return {
    get state() {
      return s;
    },
    // reset: logout, revoked session, panic wipe. Everything stops now.
    reset() {
      tabs.cancel();
      // The auto-lock pause is counted: give back the one this call took.
      if (inCall(s)) autolock.resume();
      ringtone.stop();
      stopMedia();
      if (notification) notification.close();
      notification = null;
      if (ticker) clearInterval(ticker);
      ticker = null;
      if (hangupTimer) clearTimeout(hangupTimer);
      hangupTimer = null;
      if (panel && panel.editor) panel.editor.destroy();
      panel = null;
      ringCards = new Map();
      s = initialState;
      el.replaceChildren(noticeEl, ringsEl, callEl, audio);
      ringsEl.replaceChildren();
      callEl.replaceChildren();
      noticeEl.hidden = true;
      setTitleBadge(null);
      setRingIcon(false);
      renderBar();
    },
    destroy() {
      this.reset();
      tabs.close();
      for (const f of off) f();
      offConn();
      offSession();
      window.removeEventListener('pointerdown', onGesture, true);
      window.removeEventListener('keydown', onGesture, true);
      window.removeEventListener('keydown', onShortcut);
    },
  };
}

// reportAndBanCall asks for confirmation (and an optional reason, sealed to
// the admins) and bans the caller of callId without anyone seeing the number.
// → 'banned' | 'cancelled' | 'withheld' | 'failed'. Used by the call bar
// and the history.
export async function reportAndBanCall(ctx, callId) {
  const { t, api } = ctx;
  const r = await confirmDialog(ctx, {
    title: t('ban.confirmTitle'),
    body: t('ban.confirmBody'),
    confirmLabel: t('ban.confirm'),
    reasonLabel: t('ban.reason'),
    reasonHint: t('ban.reasonHint'),
  });
  if (!r.ok) return 'cancelled';
  try {
    let reason;
    if (r.reason) {
      const me = await api.me();
      reason = sealBanReason(r.reason, callId, sealingAdmins(me));
    }
    await api.banCaller(callId, reason);
    ctx.announce(t('ban.done'), { assertive: true });
    return 'banned';
  } catch (err) {
    // A withheld number has nothing to ban (the engine says 409 or 422).
    if (err.status === 409 || err.status === 422) return 'withheld';
    console.warn('ban', err && err.code);
    return 'failed';
  }
}
