// Everything the app keeps in Web Storage, under one prefix so logout and
// panic wipe can find all of it. What is stored (localStorage):
//   llamenos.keystore          the passphrase-encrypted secret key (crypto module; survives logout)
//   llamenos.unlock-attempts   failed unlock counter (crypto module)
//   llamenos.prefs             language and auto-lock delay (not secret)
//   llamenos.draft.*           sealed note drafts (wiped on logout and panic)
//   llamenos.adminset          the admin set this browser verified last (survives logout; wiped on panic)
//   llamenos.reseal            where a re-seal stopped (wiped on logout and panic)

export const PREFIX = 'llamenos.';
export const PREFS_KEY = PREFIX + 'prefs';
export const DRAFT_PREFIX = PREFIX + 'draft.';

function keysOf(storage) {
  const out = [];
  if (!storage) return out;
  for (let i = 0; i < storage.length; i++) {
    const k = storage.key(i);
    if (k !== null) out.push(k);
  }
  return out;
}

// Collect first, then remove: removing while indexing skips entries.
function removeMatching(storage, pred) {
  let n = 0;
  for (const k of keysOf(storage)) {
    if (pred(k)) {
      storage.removeItem(k);
      n++;
    }
  }
  return n;
}

export function wipeDrafts(storage) {
  return removeMatching(storage, (k) => k.startsWith(DRAFT_PREFIX));
}

// wipeAll removes every item the app owns, in both storages, whatever the
// separator after 'llamenos': the point is that nothing on the device says
// which hotline this was.
export function wipeAll(...storages) {
  let n = 0;
  for (const s of storages) n += removeMatching(s, (k) => k.toLowerCase().startsWith('llamenos'));
  return n;
}

export function readJSON(storage, key) {
  try {
    const v = storage?.getItem(key);
    return v ? JSON.parse(v) : null;
  } catch {
    return null;
  }
}

export function writeJSON(storage, key, value) {
  storage.setItem(key, JSON.stringify(value));
}

export function loadPrefs(storage) {
  const p = readJSON(storage, PREFS_KEY);
  return p && typeof p === 'object' ? p : {};
}

export function savePrefs(storage, patch) {
  const p = { ...loadPrefs(storage), ...patch };
  try {
    writeJSON(storage, PREFS_KEY, p);
  } catch {
    // Storage full or disabled: preferences are a convenience, not a failure.
  }
  return p;
}
