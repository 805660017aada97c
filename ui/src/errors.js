// Maps API and local errors to translated sentences. The server's English
// message is shown only as a detail for validation errors, where it names the
// field that was refused.
import { tk } from './i18n.js';

const BY_CODE = {
  network: tk('error.network'),
  unauthorized: tk('error.unauthorized'),
  forbidden: tk('error.forbidden'),
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

export function errorText(t, err) {
  const key = errorKey(err);
  const base = t(key);
  // The server's message names the field or the limit that was reached.
  if (err && DETAILED.has(err.code) && err.message) return t('error.withDetail', { text: base, detail: err.message });
  return base;
}
