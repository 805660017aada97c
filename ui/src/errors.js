// Maps API and local errors to translated sentences. The server's English
// message is shown only as a detail for validation errors, where it names the
// field that was refused.
import { tk } from './i18n.js';

const BY_CODE = {
  network: tk('error.network'),
  unauthorized: tk('error.unauthorized'),
  forbidden: tk('error.forbidden'),
  wrong_origin: tk('error.forbidden'),
  wrong_host: tk('error.forbidden'),
  not_found: tk('error.notFound'),
  conflict: tk('error.conflict'),
  gone: tk('error.gone'),
  too_many_requests: tk('error.tooMany'),
  payload_too_large: tk('error.tooLarge'),
  quota_exceeded: tk('error.quota'),
  passkey_required: tk('error.passkeyRequired'),
  internal: tk('error.internal'),
  bad_response: tk('error.internal'),
  bad_request: tk('error.badRequest'),
};

const DETAILED = new Set(['bad_request', 'quota_exceeded', 'payload_too_large']);

export function errorKey(err) {
  if (err && typeof err === 'object') {
    if (err.name === 'NotAllowedError' || err.name === 'AbortError') return tk('error.passkeyCancelled');
    if (err.name === 'InvalidStateError') return tk('error.passkeyExists');
    if (err.name === 'NotSupportedError' || err.name === 'SecurityError') return tk('error.passkeyUnsupported');
    if (err.code && BY_CODE[err.code]) return BY_CODE[err.code];
  }
  return tk('error.unexpected');
}

// wrongAddress: the page was opened under an address the hotline does not
// answer to (the server names the one it does); sign-in cannot work here.
function wrongAddress(t, err) {
  if (!err || (err.code !== 'wrong_origin' && err.code !== 'wrong_host') || !err.details || !err.details.origin) return null;
  const here = globalThis.location && globalThis.location.origin ? globalThis.location.origin : '';
  return t('error.wrongOrigin', { origin: err.details.origin, here });
}

export function errorText(t, err) {
  const wrong = wrongAddress(t, err);
  if (wrong) return wrong;
  const key = errorKey(err);
  const base = t(key);
  // The server's message names the field or the limit that was reached.
  if (err && DETAILED.has(err.code) && err.message) return t('error.withDetail', { text: base, detail: err.message });
  return base;
}
