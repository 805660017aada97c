// Public API of the browser crypto. Twin of the Go package e2ee; the byte
// formats are specified in docs/crypto.md.
export { CryptoError } from './errors.js';
export { b64urlDecode, b64urlEncode, bytesToHex, hexToBytes, utf8 } from './bytes.js';
export {
  decodeNpub,
  decodeNsec,
  encodeNpub,
  encodeNsec,
  generateSecretKey,
  getPublicKey,
  parsePublicKey,
  parsePublicKeyHex,
  parseSecretKey,
  publicKeyHex,
} from './keys.js';
export { MAX_CONTEXT_FIELD_SIZE, MAX_PLAINTEXT_SIZE, MAX_RECIPIENTS, PURPOSE, PURPOSES, open, parseEnvelope, rewrap, seal, VERSION_1, VERSION_2 } from './envelope.js';
export { AUTH_PURPOSES, MIN_CHALLENGE_SIZE, authMessage, signAuth, signSchnorr, verifyAuth, verifySchnorr } from './auth.js';
export {
  MIN_ITERATIONS,
  MIN_PASSPHRASE_LENGTH,
  createKeyStore,
  openKeyStore,
  parseKeyStore,
} from './keystore.js';
export { LINK_CODE_DIGITS, LINK_SEALED_SIZE, linkCommitment, linkConfirmationCode, newLinkKey, openLinkedKey, sealLinkedKey } from './link.js';
export { sha256 } from '@noble/hashes/sha2.js';
export { ADMIN_ADD, ADMIN_REMOVE, MAX_ADMIN_CHAIN, ZERO_DIGEST, adminStatementDigest, signAdminStatement, verifyAdminChain } from './adminset.js';
export { ATTEMPTS_ITEM, KEYSTORE_ITEM, MAX_FAILED_ATTEMPTS, UnlockGuard, delayAfterFailures } from './unlock-guard.js';
