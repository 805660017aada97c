// Which tab takes back a call the daemon says is ours (src/calltabs.js):
// the tabs of one browser share a BroadcastChannel, faked here as a bus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCallTabs } from '../src/calltabs.js';

// A bus of fake BroadcastChannels, delivered when flush() is called, and
// timers run by hand.
function world() {
  const members = new Set();
  let queue = [];
  class Channel {
    constructor(name) {
      this.name = name;
      this.onmessage = null;
      members.add(this);
    }
    postMessage(data) {
      for (const m of members) if (m !== this && m.name === this.name) queue.push([m, data]);
    }
    close() {
      members.delete(this);
    }
  }
  let now = 0;
  let timers = [];
  return {
    Channel,
    flush() {
      while (queue.length) {
        const q = queue;
        queue = [];
        for (const [m, data] of q) if (members.has(m) && m.onmessage) m.onmessage({ data: structuredClone(data) });
      }
    },
    timers: {
      setTimeout(f, ms) {
        const t = { at: now + ms, f };
        timers.push(t);
        return t;
      },
      clearTimeout(t) {
        timers = timers.filter((x) => x !== t);
      },
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.f();
    },
  };
}

function tab(w, shows = null) {
  const t = { shows, rejoined: [] };
  t.tabs = createCallTabs({
    carrying: (id) => t.shows === id,
    onRejoin: (id) => {
      t.rejoined.push(id);
      t.shows = id;
    },
    Channel: w.Channel,
    timers: w.timers,
    askMs: 500,
  });
  return t;
}

test('a reloaded page, alone with the call, takes it back after asking', () => {
  const w = world();
  const page = tab(w);
  page.tabs.sync('c1');
  w.flush();
  w.advance(499);
  assert.deepEqual(page.rejoined, []);
  w.advance(1);
  assert.deepEqual(page.rejoined, ['c1']);
  // The next hello finds it carried here: nothing more happens.
  page.tabs.sync('c1');
  w.advance(1000);
  assert.deepEqual(page.rejoined, ['c1']);
});

test('a second tab leaves the call with the tab that carries it', () => {
  const w = world();
  const first = tab(w, 'c1');
  const second = tab(w);
  second.tabs.sync('c1');
  w.flush();
  w.advance(1000);
  assert.deepEqual(second.rejoined, [], 'another tab said it carries the call');
  assert.deepEqual(first.rejoined, []);
  // Once the first tab is gone (closed, reloaded), the next hello rejoins.
  first.tabs.close();
  second.tabs.sync('c1');
  w.flush();
  w.advance(500);
  assert.deepEqual(second.rejoined, ['c1']);
});

test('no call, or the call gone meanwhile, rejoins nothing', () => {
  const w = world();
  const page = tab(w);
  page.tabs.sync('c1');
  page.tabs.sync(null); // the daemon says the call is over before the answer came
  w.flush();
  w.advance(1000);
  assert.deepEqual(page.rejoined, []);
  page.tabs.sync('c3');
  page.tabs.ended('c3'); // call:ended arrived during the question
  w.advance(1000);
  assert.deepEqual(page.rejoined, []);
  page.tabs.sync('c2');
  page.tabs.cancel(); // logout, panic wipe
  w.advance(1000);
  assert.deepEqual(page.rejoined, []);
  page.tabs.sync('');
  page.tabs.sync(7);
  w.advance(1000);
  assert.deepEqual(page.rejoined, []);
});

test('the end of another call does not stop the question', () => {
  const w = world();
  const page = tab(w);
  page.tabs.sync('c1');
  page.tabs.ended('c9');
  w.advance(500);
  assert.deepEqual(page.rejoined, ['c1']);
});

test('a browser without BroadcastChannel rejoins after the wait', () => {
  const w = world();
  const rejoined = [];
  const tabs = createCallTabs({ carrying: () => false, onRejoin: (id) => rejoined.push(id), Channel: undefined, timers: w.timers });
  tabs.sync('c1');
  w.advance(500);
  assert.deepEqual(rejoined, ['c1']);
  tabs.close();
});
