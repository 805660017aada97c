// The call state machine of one tab: rings, the answer race, the call's
// phases, and which tab owns a call when a volunteer has several open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { elapsed, endReasonKey, inCall, initialState, isRinging, reduce, ringState } from '../src/ring.js';

const run = (events, s = initialState) => events.reduce((acc, ev) => reduce(acc, ev), s);
const ring = (callId, now = 0) => ({ type: 'ring', callId, startedAt: '2026-03-04T10:00:00Z', now });

test('rings are added once and removed by ring:stop with a notice for the reason', () => {
  let s = run([ring('c1', 10), ring('c1', 20), ring('c2', 30)]);
  assert.deepEqual(s.rings.map((r) => [r.callId, r.receivedAt]), [['c1', 10], ['c2', 30]]);
  assert.ok(isRinging(s));
  s = reduce(s, { type: 'ring:stop', callId: 'c1', reason: 'answered-elsewhere', now: 40 });
  assert.deepEqual(s.rings.map((r) => r.callId), ['c2']);
  assert.deepEqual(s.notice, { key: 'ring.answeredElsewhere', callId: 'c1', at: 40 });
  for (const [reason, key] of [['caller-hung-up', 'ring.callerHungUp'], ['timeout', 'ring.timeout'], ['declined', 'ring.declinedElsewhere'], ['answered', 'ring.answeredOtherTab'], ['unavailable', 'ring.unavailable'], ['ended', 'ring.ended']]) {
    const x = run([ring('c9'), { type: 'ring:stop', callId: 'c9', reason, now: 5 }]);
    assert.equal(x.notice.key, key, reason);
    assert.equal(isRinging(x), false);
  }
  // A stop for a call that is not ringing here changes nothing.
  assert.equal(reduce(s, { type: 'ring:stop', callId: 'zz', reason: 'timeout' }), s);
  s = reduce(s, { type: 'notice:clear', at: 39 });
  assert.ok(s.notice, 'only the notice it was scheduled for is cleared');
  s = reduce(s, { type: 'notice:clear', at: 40 });
  assert.equal(s.notice, null);
});

test('answer → connected → live → ended → dismissed', () => {
  let s = run([ring('c1'), ring('c2'), { type: 'answer', callId: 'c1', now: 100 }]);
  assert.equal(s.call.phase, 'answering');
  assert.deepEqual(s.rings.map((r) => r.callId), ['c2'], 'the other ring stays until the server stops it');
  assert.ok(inCall(s));
  // call:connected may come before the HTTP answer returns.
  s = reduce(s, { type: 'call:connected', callId: 'c1', now: 150 });
  assert.equal(s.call.phase, 'connecting');
  assert.equal(s.call.connectedAt, 150);
  s = reduce(s, { type: 'answer:ok', callId: 'c1', now: 160 });
  assert.equal(s.call.phase, 'connecting', 'answer:ok after connected does not move backwards');
  s = reduce(s, { type: 'media', callId: 'c1', state: 'connected', now: 300 });
  assert.equal(s.call.phase, 'live');
  assert.equal(s.call.liveAt, 300);
  s = reduce(s, { type: 'media', callId: 'c1', state: 'reconnecting', now: 400 });
  assert.equal(s.call.phase, 'live');
  assert.equal(s.call.media, 'reconnecting');
  s = reduce(s, { type: 'call:ended', callId: 'c1', reason: 'caller-hung-up', now: 500 });
  assert.equal(s.call.phase, 'ended');
  assert.equal(s.call.reason, 'caller-hung-up');
  assert.equal(inCall(s), false);
  assert.equal(reduce(s, { type: 'call:ended', callId: 'c1', reason: 'error', now: 600 }).call.reason, 'caller-hung-up');
  assert.equal(reduce(s, { type: 'media', callId: 'c1', state: 'connected' }), s, 'no media after the end');
  s = reduce(s, { type: 'dismiss' });
  assert.equal(s.call, null);
});

test('losing the answer race: 409 or ring:stop answered-elsewhere while answering', () => {
  let s = run([ring('c1'), { type: 'answer', callId: 'c1', now: 1 }, { type: 'answer:failed', callId: 'c1', status: 409, now: 2 }]);
  assert.equal(s.call, null);
  assert.equal(s.notice.key, 'ring.answeredElsewhere');
  s = run([ring('c1'), { type: 'answer', callId: 'c1', now: 1 }, { type: 'ring:stop', callId: 'c1', reason: 'answered-elsewhere', now: 2 }]);
  assert.equal(s.call, null);
  assert.equal(s.notice.key, 'ring.answeredElsewhere');
  s = run([ring('c1'), { type: 'answer', callId: 'c1' }, { type: 'answer:failed', callId: 'c1', status: 404 }]);
  assert.equal(s.notice.key, 'ring.gone');
  s = run([ring('c1'), { type: 'answer', callId: 'c1' }, { type: 'answer:failed', callId: 'c1', status: 403 }]);
  assert.equal(s.notice.key, 'ring.gone');
  s = run([ring('c1'), { type: 'answer', callId: 'c1' }, { type: 'answer:failed', callId: 'c1', status: 0 }]);
  assert.equal(s.notice.key, 'ring.answerFailed');
});

test('only the tab that answered owns the call', () => {
  // This tab rang, another tab of the same volunteer answered.
  let s = run([ring('c1'), { type: 'call:connected', callId: 'c1', now: 5 }]);
  assert.equal(s.call, null, 'no WebRTC here');
  assert.equal(s.rings.length, 0);
  assert.equal(s.notice.key, 'ring.answeredOtherTab');
  s = run([ring('c1'), { type: 'call:ended', callId: 'c1', reason: 'caller-hung-up' }]);
  assert.equal(s.call, null);
  assert.equal(s.rings.length, 0);
  // Events for calls this tab never saw are ignored.
  assert.equal(reduce(initialState, { type: 'call:connected', callId: 'x' }), initialState);
  assert.equal(reduce(initialState, { type: 'media', callId: 'x', state: 'connected' }), initialState);
});

test('you cannot answer a call that is not ringing, or a second while in one', () => {
  assert.equal(reduce(initialState, { type: 'answer', callId: 'c1' }), initialState);
  let s = run([ring('c1'), ring('c2'), { type: 'answer', callId: 'c1' }]);
  assert.equal(reduce(s, { type: 'answer', callId: 'c2' }), s);
  // After the first call ended (note still open), the next one can be answered.
  s = run([{ type: 'call:ended', callId: 'c1', reason: 'caller-hung-up' }, { type: 'answer', callId: 'c2', now: 9 }], s);
  assert.equal(s.call.callId, 'c2');
  // Declining removes only that ring.
  s = run([ring('a'), ring('b'), { type: 'decline', callId: 'a' }]);
  assert.deepEqual(s.rings.map((r) => r.callId), ['b']);
  // A ring for the call we are on is ignored.
  s = run([ring('a'), { type: 'answer', callId: 'a' }, ring('a')]);
  assert.equal(s.rings.length, 0);
});

test('durations and end reasons', () => {
  assert.equal(elapsed(0), '0:00');
  assert.equal(elapsed(59999), '0:59');
  assert.equal(elapsed(61000), '1:01');
  assert.equal(elapsed(3600000 + 62000), '1:01:02');
  assert.equal(elapsed(-5), '0:00');
  assert.equal(endReasonKey('caller-hung-up'), 'call.endCaller');
  assert.equal(endReasonKey('banned'), 'call.endBanned');
  assert.equal(endReasonKey('caller-lost'), 'call.endCallerLost', 'a lost line is not the caller hanging up');
  assert.equal(endReasonKey('gone'), 'call.endGone');
  assert.equal(endReasonKey('something-new'), 'call.endOther');
});

const hello = (rings, call = null, now = 0) => ({ type: 'sync', rings, call, now });
const entry = (callId) => ({ callId, startedAt: '2026-03-04T10:00:00Z', ringAt: '2026-03-04T10:00:01Z' });

test('a page that connects while a call rings is rung by its hello', () => {
  let s = reduce(initialState, hello([entry('c1'), entry('c2')], null, 50));
  assert.deepEqual(s.rings.map((r) => [r.callId, r.receivedAt]), [['c1', 50], ['c2', 50]]);
  assert.ok(isRinging(s));
  // The ring message that follows the hello changes nothing.
  assert.equal(reduce(s, ring('c1', 60)), s);
  // A second hello (a reconnect) keeps the rings it still names as they were.
  assert.equal(reduce(s, hello([entry('c1'), entry('c2')], null, 70)), s);
});

test('on reconnect the rings become the daemon\'s: one stopped meanwhile goes', () => {
  let s = run([ring('c1', 10), ring('c2', 20)]);
  s = reduce(s, hello([entry('c2'), entry('c3')], null, 90));
  assert.deepEqual(s.rings.map((r) => [r.callId, r.receivedAt]), [['c2', 20], ['c3', 90]]);
  assert.equal(s.notice.key, 'ring.gone');
  s = reduce(s, hello([], null, 95));
  assert.equal(isRinging(s), false);
});

test('a call the daemon no longer has is ended on reconnect, and a new ring can be answered', () => {
  // Answered, media up, then the daemon restarted: the panel said
  // "Audio interrupted. Reconnecting…" for ever.
  let s = run([ring('c1'), { type: 'answer', callId: 'c1' }, { type: 'answer:ok', callId: 'c1' }, { type: 'call:connected', callId: 'c1' },
    { type: 'media', callId: 'c1', state: 'connected' }, { type: 'media', callId: 'c1', state: 'reconnecting' }]);
  assert.ok(inCall(s));
  // The restarted daemon re-queued the caller as a new call that rings here.
  s = reduce(s, hello([entry('c9')], null, 500));
  assert.equal(s.call.phase, 'ended');
  assert.equal(s.call.reason, 'gone');
  assert.equal(s.call.endedAt, 500);
  assert.equal(inCall(s), false);
  assert.deepEqual(s.rings.map((r) => r.callId), ['c9']);
  s = reduce(s, { type: 'answer', callId: 'c9', now: 600 });
  assert.equal(s.call.callId, 'c9', 'the new ring can be answered');
});

test('a call the daemon still has survives the reconnect; one being answered is left to its answer', () => {
  const live = run([ring('c1'), { type: 'answer', callId: 'c1' }, { type: 'answer:ok', callId: 'c1' }, { type: 'media', callId: 'c1', state: 'connected' }]);
  assert.equal(reduce(live, hello([], { callId: 'c1' })), live);
  // A different call of theirs is not this tab's: this one is over.
  assert.equal(reduce(live, hello([], { callId: 'c2' })).call.reason, 'gone');
  const answering = run([ring('c1'), { type: 'answer', callId: 'c1' }]);
  const s = reduce(answering, hello([], null));
  assert.equal(s.call.phase, 'answering');
  // An ended call stays as it ended.
  const ended = run([{ type: 'call:ended', callId: 'c1', reason: 'caller-hung-up' }], live);
  assert.equal(reduce(ended, hello([], null)), ended);
  // Junk in a hello is ignored.
  assert.equal(reduce(initialState, hello([null, {}, { callId: '' }, 7], 'x')), initialState);
  assert.equal(reduce(initialState, { type: 'sync' }), initialState);
});

test('the home screen says calls cannot ring here while the page is not connected', () => {
  const me = { available: true, onBreak: false, onShift: true, onCall: false };
  assert.equal(ringState(me, 'open').state, 'ringable');
  for (const conn of ['connecting', 'waiting', 'closed', 'idle']) {
    assert.deepEqual(ringState(me, conn), { state: 'offline', key: 'home.stateOffline' }, conn);
  }
  assert.equal(ringState({ ...me, onShift: false }, 'open').state, 'offshift');
  assert.equal(ringState({ ...me, available: false }, 'waiting').state, 'off');
  assert.equal(ringState({ ...me, onBreak: true }, 'waiting').state, 'break');
  assert.equal(ringState({ ...me, onCall: true }, 'waiting').state, 'oncall');
});

test('a refused re-offer for the call in progress ends it here', () => {
  const live = run([ring('c1'), { type: 'answer', callId: 'c1' }, { type: 'answer:ok', callId: 'c1' }, { type: 'media', callId: 'c1', state: 'reconnecting' }]);
  const s = reduce(live, { type: 'refused', callId: 'c1', code: 'not_found', now: 70 });
  assert.equal(s.call.phase, 'ended');
  assert.equal(s.call.reason, 'gone');
  assert.equal(reduce(live, { type: 'refused', callId: 'c1', code: 'bad_request' }), live, 'a bad offer is not the end of the call');
  assert.equal(reduce(live, { type: 'refused', callId: 'other', code: 'not_found' }), live);
  const answering = run([ring('c1'), { type: 'answer', callId: 'c1' }]);
  assert.equal(reduce(answering, { type: 'refused', callId: 'c1', code: 'not_found' }), answering);
});

test('a page that lost its call (reload, crash) takes it back: panel, media, then the call goes on', () => {
  // A fresh page: the hello names a call of ours that nothing here shows.
  let s = reduce(initialState, hello([], { callId: 'c1' }, 10));
  assert.equal(s.call, null, 'the hello alone does not take the call: another tab may carry it');
  s = reduce(s, { type: 'rejoin', callId: 'c1', now: 20 });
  assert.equal(s.call.callId, 'c1');
  assert.equal(s.call.phase, 'connecting');
  assert.equal(s.call.media, 'new');
  assert.ok(inCall(s));
  // The next hello (a reconnect) keeps it; its media comes up; it ends as any call.
  assert.equal(reduce(s, hello([], { callId: 'c1' }, 30)), s);
  s = reduce(s, { type: 'media', callId: 'c1', state: 'connected', now: 40 });
  assert.equal(s.call.phase, 'live');
  assert.equal(s.call.liveAt, 40);
  s = reduce(s, { type: 'call:ended', callId: 'c1', reason: 'volunteer-hung-up', now: 50 });
  assert.equal(s.call.phase, 'ended');
  // A rejoin does not replace a call in progress here, and replaces a call
  // that ended here (its panel left open).
  const live = run([ring('c2'), { type: 'answer', callId: 'c2' }, { type: 'answer:ok', callId: 'c2' }]);
  assert.equal(reduce(live, { type: 'rejoin', callId: 'c3' }), live);
  assert.equal(reduce(live, { type: 'rejoin', callId: 'c2' }), live);
  assert.equal(reduce(s, { type: 'rejoin', callId: 'c4', now: 60 }).call.callId, 'c4');
  // A ring card of the call goes with it; junk is ignored.
  const ringing = run([ring('c5')]);
  assert.deepEqual(reduce(ringing, { type: 'rejoin', callId: 'c5' }).rings, []);
  assert.equal(reduce(initialState, { type: 'rejoin', callId: '' }), initialState);
  assert.equal(reduce(initialState, { type: 'rejoin' }), initialState);
});
