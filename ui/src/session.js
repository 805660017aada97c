// What the tab knows about the signed-in person. The secret key lives only
// here, in memory; lock() zeroes it, logout and panic wipe also clear the
// drafts (and, for panic, everything else the app ever stored).
import { wipeAll, wipeDrafts } from './storage.js';

export function createSession() {
  const listeners = new Set();
  const s = {
    secretKey: null, // Uint8Array(32) while unlocked
    pubkey: null, // hex, known while signed in even when locked
    role: null,
    me: null, // last GET /api/me (or ws 'me') object
    profile: null, // decrypted own profile {name, phone} or null

    get unlocked() {
      return s.secretKey !== null && s.pubkey !== null;
    },

    // unlock installs the secret key after the passphrase (or a backup) opened it.
    unlock(secretKey, pubkey) {
      if (s.secretKey && s.secretKey !== secretKey) s.secretKey.fill(0);
      s.secretKey = secretKey;
      s.pubkey = pubkey;
      emit();
    },

    signedIn(info) {
      s.pubkey = info.pubkey;
      s.role = info.role;
      emit();
    },

    setMe(me) {
      if (!me || typeof me !== 'object') return;
      s.me = me;
      if (me.role) s.role = me.role;
      emit();
    },

    setProfile(p) {
      s.profile = p;
      emit();
    },

    // lock drops the key but remembers who is signed in, so unlocking with the
    // passphrase can reuse the still-valid server session.
    lock() {
      if (s.secretKey) s.secretKey.fill(0);
      s.secretKey = null;
      s.profile = null;
      emit();
    },

    // forget clears everything in memory (logout, revoked session, panic).
    forget() {
      s.lock();
      s.pubkey = null;
      s.role = null;
      s.me = null;
      emit();
    },

    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  function emit() {
    for (const fn of listeners) fn(s);
  }
  return s;
}

// endLocal: what logout does on the device. The encrypted key store stays so
// the person can log in again; drafts go.
export function endLocal(session, storage) {
  session.forget();
  return wipeDrafts(storage);
}

// panicLocal: key, drafts, key store, preferences — every trace in storage.
export function panicLocal(session, local, sessionStore) {
  session.forget();
  return wipeAll(local, sessionStore);
}
