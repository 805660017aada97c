// The state of calls in this tab, as a pure reducer: the rings shown, the
// one call this tab answered, and a short notice for what just happened.
// The call bar (callbar.js) renders it and performs the side effects
// (ringtone, notification, WebRTC); keeping the decisions here makes them
// testable without a browser.
//
// state = {
//   rings:  [{callId, startedAt, receivedAt}]   calls ringing in this tab
//   call:   null | {callId, phase, answeredAt, connectedAt, liveAt, endedAt, reason, media}
//           phase: answering → connecting → live → ended
//   notice: null | {key, callId, at}
// }
//
// A volunteer's tabs all receive the same events. Only the tab whose Answer
// button was pressed owns the call: call:connected / call:ended for a call
// this tab does not own only clear its ring, so two tabs never both start
// WebRTC for one call.
//
// Every (re)connection starts with the daemon's truth (the hello's rings
// and call, the 'sync' event): the rings shown become exactly the daemon's,
// and a call this tab shows that the daemon no longer has is ended here
// (reason 'gone'), so a restart or a missed call:ended never leaves a call
// panel open with nothing behind it. A call the daemon says is ours that no
// tab of this browser carries (the page was reloaded, or the browser
// crashed and was reopened) is taken back here ('rejoin', see calltabs.js):
// its panel comes back and the media is offered again.
import { tk } from './i18n.js';

export const initialState = Object.freeze({ rings: [], call: null, notice: null });

export const STOP_NOTICES = Object.freeze({
  'answered-elsewhere': tk('ring.answeredElsewhere'),
  'caller-hung-up': tk('ring.callerHungUp'),
  timeout: tk('ring.timeout'),
  declined: tk('ring.declinedElsewhere'),
  unavailable: tk('ring.unavailable'),
  ended: tk('ring.ended'),
});

export const END_REASONS = Object.freeze({
  'caller-hung-up': tk('call.endCaller'),
  'caller-lost': tk('call.endCallerLost'),
  'volunteer-hung-up': tk('call.endVolunteer'),
  'browser-lost': tk('call.endBrowserLost'),
  banned: tk('call.endBanned'),
  error: tk('call.endError'),
  // Not from the daemon: the page found the call gone (sync, a refused offer).
  gone: tk('call.endGone'),
});

export function endReasonKey(reason) {
  return END_REASONS[reason] || tk('call.endOther');
}

const withoutRing = (rings, callId) => rings.filter((r) => r.callId !== callId);
const owns = (s, callId) => s.call !== null && s.call.callId === callId;
const notice = (key, callId, at) => ({ key, callId, at });

export function reduce(s, ev) {
  const now = ev.now ?? 0;
  switch (ev.type) {
    case 'ring': {
      if (typeof ev.callId !== 'string' || ev.callId === '') return s;
      if (s.rings.some((r) => r.callId === ev.callId) || owns(s, ev.callId)) return s;
      return { ...s, rings: [...s.rings, { callId: ev.callId, startedAt: ev.startedAt, receivedAt: now }] };
    }
    case 'ring:stop': {
      const had = s.rings.some((r) => r.callId === ev.callId);
      const rings = withoutRing(s.rings, ev.callId);
      // Our answer lost the race: the server says someone else has it.
      if (owns(s, ev.callId) && s.call.phase === 'answering' && ev.reason === 'answered-elsewhere') {
        return { rings, call: null, notice: notice(STOP_NOTICES['answered-elsewhere'], ev.callId, now) };
      }
      if (!had) return s;
      // 'answered' is our own answer; 'declined' from this tab was already
      // handled when the button was pressed.
      const key = ev.reason === 'answered' && !owns(s, ev.callId) ? tk('ring.answeredOtherTab') : STOP_NOTICES[ev.reason];
      return { ...s, rings, notice: key ? notice(key, ev.callId, now) : s.notice };
    }
    case 'answer': {
      if (!s.rings.some((r) => r.callId === ev.callId)) return s;
      if (s.call && s.call.phase !== 'ended') return s;
      return {
        rings: withoutRing(s.rings, ev.callId),
        call: { callId: ev.callId, phase: 'answering', answeredAt: now, connectedAt: null, liveAt: null, endedAt: null, reason: null, media: 'new' },
        notice: null,
      };
    }
    case 'answer:ok': {
      if (!owns(s, ev.callId) || s.call.phase !== 'answering') return s;
      return { ...s, call: { ...s.call, phase: 'connecting', connectedAt: now } };
    }
    case 'answer:failed': {
      if (!owns(s, ev.callId) || s.call.phase === 'ended') return s;
      // 403: the ring was withdrawn (declined in another tab, no longer
      // eligible) between the ring and the click; 404: the call is over.
      const key = ev.status === 409 ? STOP_NOTICES['answered-elsewhere'] : ev.status === 404 || ev.status === 403 ? tk('ring.gone') : tk('ring.answerFailed');
      return { ...s, call: null, notice: notice(key, ev.callId, now) };
    }
    case 'decline':
      return { ...s, rings: withoutRing(s.rings, ev.callId) };
    case 'call:connected': {
      if (!owns(s, ev.callId)) {
        const had = s.rings.some((r) => r.callId === ev.callId);
        return had ? { ...s, rings: withoutRing(s.rings, ev.callId), notice: notice(tk('ring.answeredOtherTab'), ev.callId, now) } : s;
      }
      if (s.call.phase === 'ended') return s;
      return { ...s, call: { ...s.call, phase: s.call.phase === 'live' ? 'live' : 'connecting', connectedAt: s.call.connectedAt ?? now } };
    }
    case 'media': {
      if (!owns(s, ev.callId) || s.call.phase === 'ended' || s.call.phase === 'answering') return s;
      const live = ev.state === 'connected';
      return {
        ...s,
        call: { ...s.call, media: ev.state, phase: live ? 'live' : s.call.phase, liveAt: s.call.liveAt ?? (live ? now : null) },
      };
    }
    case 'call:ended': {
      if (!owns(s, ev.callId)) {
        const had = s.rings.some((r) => r.callId === ev.callId);
        return had ? { ...s, rings: withoutRing(s.rings, ev.callId) } : s;
      }
      if (s.call.phase === 'ended') return s;
      return { ...s, call: { ...s.call, phase: 'ended', endedAt: now, reason: ev.reason || 'error', media: 'closed' } };
    }
    case 'sync': {
      // The daemon's truth on (re)connection. A call still being answered
      // is left to its answer request.
      const list = Array.isArray(ev.rings) ? ev.rings.filter((r) => r && typeof r.callId === 'string' && r.callId !== '') : [];
      const rings = [];
      for (const r of list) {
        if (owns(s, r.callId) || rings.some((x) => x.callId === r.callId)) continue;
        rings.push(s.rings.find((x) => x.callId === r.callId) || { callId: r.callId, startedAt: r.startedAt, receivedAt: now });
      }
      const dropped = s.rings.some((r) => !rings.some((x) => x.callId === r.callId));
      const current = ev.call && typeof ev.call.callId === 'string' ? ev.call.callId : null;
      let call = s.call;
      if (call && (call.phase === 'connecting' || call.phase === 'live') && call.callId !== current) {
        call = { ...call, phase: 'ended', endedAt: now, reason: 'gone', media: 'closed' };
      }
      const same = call === s.call && rings.length === s.rings.length && rings.every((r, i) => r === s.rings[i]);
      if (same) return s;
      return { rings, call, notice: dropped && call === s.call ? notice(tk('ring.gone'), null, now) : s.notice };
    }
    case 'rejoin': {
      // The daemon still has this volunteer's call and no other tab carries
      // it: this tab takes it back, and offers its media again.
      if (typeof ev.callId !== 'string' || ev.callId === '') return s;
      if (s.call && s.call.phase !== 'ended') return s;
      return {
        rings: withoutRing(s.rings, ev.callId),
        call: { callId: ev.callId, phase: 'connecting', answeredAt: now, connectedAt: now, liveAt: null, endedAt: null, reason: null, media: 'new' },
        notice: null,
      };
    }
    case 'refused': {
      // The daemon refused this tab's signaling for its call as not found
      // (a re-offer after a restart): it no longer has the call.
      if (ev.code !== 'not_found' || !owns(s, ev.callId) || (s.call.phase !== 'connecting' && s.call.phase !== 'live')) return s;
      return { ...s, call: { ...s.call, phase: 'ended', endedAt: now, reason: 'gone', media: 'closed' } };
    }
    case 'dismiss':
      return s.call && s.call.phase === 'ended' ? { ...s, call: null } : s;
    case 'notice:clear':
      return s.notice && (ev.at === undefined || s.notice.at === ev.at) ? { ...s, notice: null } : s;
    default:
      return s;
  }
}

// ringState is the one line on the home screen that says whether a call
// will ring here: the daemon rings only a volunteer with a page connected,
// so a page whose socket is not open says so (conn: the socket's state).
export function ringState(me, conn) {
  if (me.onCall) return { state: 'oncall', key: tk('home.stateOnCall') };
  if (!me.available) return { state: 'off', key: tk('home.stateOff') };
  if (me.onBreak) return { state: 'break', key: tk('home.stateBreak') };
  if (conn !== 'open') return { state: 'offline', key: tk('home.stateOffline') };
  if (!me.onShift) return { state: 'offshift', key: tk('home.stateOffShift') };
  return { state: 'ringable', key: tk('home.stateOn') };
}

// The same states in a word or two, for the header on every screen.
export const SHORT_STATES = Object.freeze({
  oncall: tk('header.stateOnCall'),
  off: tk('header.stateOff'),
  break: tk('header.stateBreak'),
  offline: tk('header.stateOffline'),
  offshift: tk('header.stateOffShift'),
  ringable: tk('header.stateOn'),
});

// What the side effects follow.
export const isRinging = (s) => s.rings.length > 0;
export const inCall = (s) => s.call !== null && s.call.phase !== 'ended';

// elapsed formats a duration in ms as m:ss (h:mm:ss past an hour).
export function elapsed(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
