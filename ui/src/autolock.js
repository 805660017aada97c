// Auto-lock: after a stretch without user activity the in-memory secret key
// is dropped and the passphrase is asked again. Timers in background tabs are
// throttled or frozen, so the decision is made from timestamps: every
// activity and every visibility change first checks whether the deadline has
// already passed, and only then pushes it back.

export const DEFAULT_AUTOLOCK_MINUTES = 5;
export const AUTOLOCK_CHOICES = [1, 2, 5, 10, 15, 30, 60];

export function createAutoLock({
  delayMs = DEFAULT_AUTOLOCK_MINUTES * 60000,
  now = Date.now,
  timers = globalThis,
  onLock,
} = {}) {
  let last = 0;
  let timer = null;
  let running = false;
  let paused = 0;

  function arm() {
    if (timer) timers.clearTimeout(timer);
    timer = null;
    if (!running || paused) return;
    const left = Math.max(0, last + delayMs - now());
    timer = timers.setTimeout(check, left);
  }

  function lock() {
    running = false;
    if (timer) timers.clearTimeout(timer);
    timer = null;
    onLock();
  }

  // check locks if the deadline has passed, else re-arms for the remainder
  // (a timer may fire early or late).
  function check() {
    if (!running || paused) return false;
    if (now() - last >= delayMs) {
      lock();
      return true;
    }
    arm();
    return false;
  }

  return {
    start() {
      running = true;
      last = now();
      arm();
    },
    stop() {
      running = false;
      if (timer) timers.clearTimeout(timer);
      timer = null;
    },
    // activity returns true if it arrived too late and locked instead.
    activity() {
      if (!running) return false;
      if (!paused && check()) return true;
      last = now();
      arm();
      return false;
    },
    check,
    // pause/resume hold the lock off while something legitimately has no
    // input for a long time (a voice call in progress); nesting is counted.
    pause() {
      paused++;
      arm();
    },
    resume() {
      if (paused > 0) paused--;
      if (!paused) {
        last = now();
        arm();
      }
    },
    setDelay(ms) {
      delayMs = ms;
      arm();
    },
    get running() {
      return running;
    },
    get delayMs() {
      return delayMs;
    },
  };
}
