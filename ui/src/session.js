// What the tab knows about the signed-in person. The secret key lives only
// here, in memory; lock() zeroes it, logout and panic wipe also clear the
// drafts (and, for panic, everything else the app ever stored).
import { PREFIX as SIGNED_IN_PREFIX, wipeAll, wipeDrafts } from './storage.js';

export function createSession() {
  const listeners = new Set();
  const s = {
    secretKey: null, // Uint8Array(32) while unlocked
    pubkey: null, // hex, known while signed in even when locked
    role: null,
    me: null, // last GET /api/me (or ws 'me') object
    profile: null, // decrypted own profile {name, phone} or null
    // The call this person answered, as their socket's ordered events tell
    // it (the hello's call, call:connected, call:ended): a callId or null.
    // While a socket that said hello is open, me.onCall follows these
    // events only, so a GET /api/me answer computed before a call event and
    // read after it cannot undo it; every view reads me.onCall from here.
    call: null,
    callsFromSocket: false,

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
      s.me = s.callsFromSocket ? { ...me, onCall: s.call !== null } : me;
      if (me.role) s.role = me.role;
      emit();
    },

    // callEvent: {type: 'hello', call} | {type: 'call:connected' | 'call:ended',
    // callId} | {type: 'socket:down'} (events may be missed until the next
    // hello, so GET /api/me answers count again meanwhile).
    callEvent(ev) {
      let call = s.call;
      if (ev.type === 'hello') {
        call = ev.call && typeof ev.call.callId === 'string' ? ev.call.callId : null;
        s.callsFromSocket = true;
      } else if (ev.type === 'call:connected' && typeof ev.callId === 'string') call = ev.callId;
      else if (ev.type === 'call:ended' && ev.callId === call) call = null;
      else if (ev.type === 'socket:down') {
        s.callsFromSocket = false;
        return;
      } else return;
      const changed = call !== s.call || (s.me && s.me.onCall !== (call !== null));
      s.call = call;
      if (!changed) return;
      if (s.me) s.me = { ...s.me, onCall: call !== null };
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
      s.call = null;
      s.callsFromSocket = false;
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
// the person can log in again, and so does the pinned admin set (public
// keys and digests only): a server that shows a cut or replaced set after
// the next sign-in is still refused. Drafts go, and so does the re-seal
// cursor.
export function endLocal(session, storage) {
  session.forget();
  storage.removeItem(SIGNED_IN_PREFIX + 'reseal');
  return wipeDrafts(storage);
}

// panicLocal: key, drafts, key store, preferences — every trace in storage.
export function panicLocal(session, local, sessionStore) {
  session.forget();
  return wipeAll(local, sessionStore);
}
