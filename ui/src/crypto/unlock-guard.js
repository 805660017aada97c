// Attempt limiting for the key store. Storage-agnostic: give it anything with
// getItem/setItem/removeItem (localStorage in the app, a Map-backed fake in
// tests) and a clock.
//
// What it is for: someone at an unlocked computer guessing the passphrase in
// the app. What it is not: protection against a copy of the storage, which
// can be attacked offline at PBKDF2 speed — that is the passphrase's job.
import { CryptoError } from './errors.js';
import { openKeyStore, parseKeyStore } from './keystore.js';

export const KEYSTORE_ITEM = 'llamenos.keystore';
export const ATTEMPTS_ITEM = 'llamenos.unlock-attempts';
/** Consecutive failures after which the stored key is erased. */
export const MAX_FAILED_ATTEMPTS = 10;

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Delay before the next attempt after `failures` consecutive failures. */
export function delayAfterFailures(failures) {
  if (failures <= 4) return 0;
  if (failures <= 6) return 30 * SECOND;
  if (failures <= 8) return 2 * MINUTE;
  return 10 * MINUTE;
}

export class UnlockGuard {
  /**
   * @param {{storage: {getItem(k:string):string|null, setItem(k:string,v:string):void, removeItem(k:string):void},
   *          now?: () => number, onWipe?: () => void, insecureTestIterations?: boolean}} opts
   */
  constructor({ storage, now = () => Date.now(), onWipe = () => {}, insecureTestIterations = false }) {
    if (!storage) throw new TypeError('UnlockGuard needs a storage');
    this.storage = storage;
    this.now = now;
    this.onWipe = onWipe;
    this.insecureTestIterations = insecureTestIterations;
  }

  // An unreadable counter fails closed: one more failure wipes. A bug here
  // must not turn into unlimited guesses.
  #readAttempts() {
    const raw = this.storage.getItem(ATTEMPTS_ITEM);
    if (raw === null) return { failures: 0, at: 0 };
    try {
      const a = JSON.parse(raw);
      if (Number.isSafeInteger(a.failures) && a.failures >= 0 && Number.isFinite(a.at)) return a;
    } catch {
      // fall through
    }
    const a = { failures: MAX_FAILED_ATTEMPTS - 1, at: this.now() };
    this.#writeAttempts(a);
    return a;
  }

  #writeAttempts(a) {
    this.storage.setItem(ATTEMPTS_ITEM, JSON.stringify({ failures: a.failures, at: a.at }));
  }

  hasKey() {
    return this.storage.getItem(KEYSTORE_ITEM) !== null;
  }

  /** {failures, remaining, waitMs}: waitMs > 0 means unlock would be refused now. */
  status() {
    return this.#statusOf(this.#readAttempts());
  }

  #statusOf(a) {
    const wait = Math.max(0, a.at + delayAfterFailures(a.failures) - this.now());
    return { failures: a.failures, remaining: Math.max(0, MAX_FAILED_ATTEMPTS - a.failures), waitMs: a.failures ? wait : 0 };
  }

  /** Stores a new key store (from createKeyStore) and clears the counter. */
  save(keyStore) {
    parseKeyStore(keyStore, { insecureTestIterations: this.insecureTestIterations });
    this.storage.setItem(KEYSTORE_ITEM, typeof keyStore === 'string' ? keyStore : JSON.stringify(keyStore));
    this.storage.removeItem(ATTEMPTS_ITEM);
  }

  /** Erases the stored key and the counter (also the panic wipe). */
  wipe() {
    this.storage.removeItem(KEYSTORE_ITEM);
    this.storage.removeItem(ATTEMPTS_ITEM);
    this.onWipe();
  }

  /**
   * Opens the stored key. The failure is counted *before* the slow KDF runs
   * and cleared only on success, so closing the tab mid-attempt still counts.
   * Throws CryptoError NO_KEY, LOCKED_OUT {waitMs}, WRONG_PASSPHRASE
   * {failures, remaining, waitMs} or WIPED.
   */
  async unlock(passphrase) {
    const raw = this.storage.getItem(KEYSTORE_ITEM);
    if (raw === null) throw new CryptoError('NO_KEY', 'no key stored on this device');
    const prev = this.#readAttempts();
    const st = this.#statusOf(prev);
    if (st.waitMs > 0) {
      throw new CryptoError('LOCKED_OUT', `too many wrong passphrases; try again in ${Math.ceil(st.waitMs / 1000)} s`, { waitMs: st.waitMs });
    }
    const failures = st.failures + 1;
    this.#writeAttempts({ failures, at: this.now() });
    try {
      const sk = await openKeyStore(raw, passphrase, { insecureTestIterations: this.insecureTestIterations });
      this.storage.removeItem(ATTEMPTS_ITEM);
      return sk;
    } catch (err) {
      if (!(err instanceof CryptoError) || err.code !== 'WRONG_PASSPHRASE') {
        // Not a guess (damaged store, bad input): put the counter back.
        if (prev.failures === 0) this.storage.removeItem(ATTEMPTS_ITEM);
        else this.#writeAttempts(prev);
        throw err;
      }
      if (failures >= MAX_FAILED_ATTEMPTS) {
        this.wipe();
        throw new CryptoError('WIPED', `${MAX_FAILED_ATTEMPTS} wrong passphrases: the key on this device was erased; restore it from your backup`);
      }
      const remaining = MAX_FAILED_ATTEMPTS - failures;
      const waitMs = delayAfterFailures(failures);
      throw new CryptoError('WRONG_PASSPHRASE', `wrong passphrase; ${remaining} attempts left before the key is erased`, { failures, remaining, waitMs });
    }
  }
}
