import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, errorFromResponse } from '../src/api.js';
import { errorKey, errorText } from '../src/errors.js';

const t = (key, vars) => (vars ? `${key}|${JSON.stringify(vars)}` : key);

test('API codes map to their sentences, unknown ones to a generic one', () => {
  assert.equal(errorKey(new ApiError(403, 'passkey_required', 'x')), 'error.passkeyRequired');
  assert.equal(errorKey(new ApiError(429, 'too_many_requests', 'x')), 'error.tooMany');
  assert.equal(errorKey(new ApiError(0, 'network', 'x')), 'error.network');
  assert.equal(errorKey(new ApiError(418, 'http_418', 'x')), 'error.unexpected');
  assert.equal(errorKey(null), 'error.unexpected');
  assert.equal(errorKey(new Error('boom')), 'error.unexpected');
});

test('WebAuthn DOMExceptions get passkey sentences', () => {
  const dom = (name) => Object.assign(new Error(name), { name });
  assert.equal(errorKey(dom('NotAllowedError')), 'error.passkeyCancelled');
  assert.equal(errorKey(dom('AbortError')), 'error.passkeyCancelled');
  assert.equal(errorKey(dom('InvalidStateError')), 'error.passkeyExists');
  assert.equal(errorKey(dom('SecurityError')), 'error.passkeyUnsupported');
});

test('only validation errors and reached limits show the server detail', () => {
  assert.equal(errorText(t, new ApiError(400, 'bad_request', 'timeZone: unknown zone')), 'error.withDetail|{"text":"error.badRequest","detail":"timeZone: unknown zone"}');
  assert.equal(errorText(t, new ApiError(429, 'quota_exceeded', 'the limit is 4096 KiB a day')), 'error.withDetail|{"text":"error.quota","detail":"the limit is 4096 KiB a day"}');
  assert.equal(errorText(t, new ApiError(429, 'too_many_requests', 'slow down')), 'error.tooMany');
  assert.equal(errorText(t, new ApiError(401, 'unauthorized', 'bad signature for key abc')), 'error.unauthorized');
});

test('a page opened at another address is told which one to open', () => {
  const err = errorFromResponse(403, JSON.stringify({ error: { code: 'wrong_origin', message: 'x', origin: 'http://localhost:8090' } }));
  assert.equal(err.details.origin, 'http://localhost:8090');
  globalThis.location = { origin: 'http://127.0.0.1:8090' };
  try {
    assert.equal(errorText(t, err), 'error.wrongOrigin|{"origin":"http://localhost:8090","here":"http://127.0.0.1:8090"}');
  } finally {
    delete globalThis.location;
  }
  // An origin that is not one (a path, a script) is not shown.
  const odd = errorFromResponse(403, JSON.stringify({ error: { code: 'wrong_origin', message: 'x', origin: 'javascript:alert(1)' } }));
  assert.equal(errorText(t, odd), 'error.forbidden');
});
