// Panic wipe trigger: Escape pressed `count` times within `windowMs`. Held-key
// auto-repeat does not count, so leaning on the key cannot wipe by accident;
// three deliberate presses always do, whatever has focus and whatever other
// keys were pressed in between.

export function createEscapeDetector({ count = 3, windowMs = 1000 } = {}) {
  let times = [];
  return {
    // press records one key event and reports whether the sequence completed.
    press(key, time, repeat = false) {
      if (key !== 'Escape' && key !== 'Esc') return false;
      if (repeat) return false;
      times = times.filter((t) => time - t <= windowMs);
      times.push(time);
      if (times.length >= count) {
        times = [];
        return true;
      }
      return false;
    },
    reset() {
      times = [];
    },
  };
}
