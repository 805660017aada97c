// Which tab carries the volunteer's call. Every (re)connection's hello names
// the call the daemon says this volunteer answered. The tab that shows it
// carries on as it is. A tab that does not (a page reloaded during the call,
// a browser reopened after a crash, or simply another tab) asks the other
// tabs of this browser on a BroadcastChannel whether one of them carries
// it, and takes the call back only when none says so within a moment. So a
// reload rejoins the call, and a second tab opened during a call leaves it,
// and its audio, where it is.

export const CHANNEL = 'llamenos-call';
// How long a tab waits for another to say it carries the call. Tabs of one
// browser answer within milliseconds; a reloaded page has nobody to answer.
export const ASK_MS = 500;

// carrying(callId) → true when this tab shows callId and it has not ended;
// onRejoin(callId) takes it back.
export function createCallTabs({ carrying, onRejoin, Channel = globalThis.BroadcastChannel, timers = globalThis, askMs = ASK_MS }) {
  const ch = typeof Channel === 'function' ? new Channel(CHANNEL) : null;
  let asking = null; // {callId, timer}

  function cancel() {
    if (asking) timers.clearTimeout(asking.timer);
    asking = null;
  }

  if (ch) {
    ch.onmessage = (ev) => {
      const m = ev && ev.data;
      if (!m || typeof m.callId !== 'string' || m.callId === '') return;
      if (m.type === 'who' && carrying(m.callId)) ch.postMessage({ type: 'mine', callId: m.callId });
      else if (m.type === 'mine' && asking && asking.callId === m.callId) cancel();
    };
  }

  return {
    // sync: a hello named callId (null: no call of ours is in progress).
    sync(callId) {
      if (typeof callId !== 'string' || callId === '' || carrying(callId)) {
        cancel();
        return;
      }
      if (asking && asking.callId === callId) return;
      cancel();
      const a = { callId, timer: null };
      asking = a;
      a.timer = timers.setTimeout(() => {
        if (asking !== a) return;
        asking = null;
        if (!carrying(callId)) onRejoin(callId);
      }, askMs);
      if (ch) ch.postMessage({ type: 'who', callId });
    },
    // ended: the daemon says callId is over; a question about it is moot.
    ended(callId) {
      if (asking && asking.callId === callId) cancel();
    },
    // cancel forgets a question in flight (logout, panic wipe).
    cancel,
    close() {
      cancel();
      if (ch) ch.close();
    },
  };
}
