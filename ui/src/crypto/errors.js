// One error type for the whole crypto module. `code` is stable and mirrors
// the Go sentinels in e2ee/errors.go; the message never contains secrets.
export class CryptoError extends Error {
  /**
   * @param {string} code one of CryptoError.codes
   * @param {string} message
   * @param {object} [details] non-secret extras (e.g. waitMs for a lockout)
   */
  constructor(code, message, details) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
    if (details) Object.assign(this, details);
  }
}

CryptoError.codes = Object.freeze({
  UNKNOWN_VERSION: 'UNKNOWN_VERSION', // envelope version byte not understood
  MALFORMED: 'MALFORMED', // layout, lengths, points or encoding wrong
  NOT_RECIPIENT: 'NOT_RECIPIENT', // well-formed but not addressed to this key
  AUTH_FAILED: 'AUTH_FAILED', // AEAD tag failed: tampered, wrong context or key
  UNKNOWN_PURPOSE: 'UNKNOWN_PURPOSE',
  INVALID_CONTEXT: 'INVALID_CONTEXT',
  INVALID_KEY: 'INVALID_KEY',
  DUPLICATE_RECIPIENT: 'DUPLICATE_RECIPIENT',
  TOO_LARGE: 'TOO_LARGE',
  WRONG_PASSPHRASE: 'WRONG_PASSPHRASE', // key store did not open
  WEAK_PASSPHRASE: 'WEAK_PASSPHRASE', // refused when creating a key store
  LOCKED_OUT: 'LOCKED_OUT', // too many recent failures; see waitMs
  WIPED: 'WIPED', // the stored key was erased after too many failures
  NO_KEY: 'NO_KEY', // nothing stored to unlock
});
