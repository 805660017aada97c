import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, createApi, errorFromResponse } from '../src/api.js';

function response(status, body, { json = true } = {}) {
  const text = body === undefined ? '' : json ? JSON.stringify(body) : body;
  return { ok: status >= 200 && status < 300, status, text: async () => text };
}

function fakeFetch(reply) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init });
    return typeof reply === 'function' ? reply(url, init) : reply;
  };
  fn.calls = calls;
  return fn;
}

test('errorFromResponse uses the server error object', () => {
  const e = errorFromResponse(403, JSON.stringify({ error: { code: 'passkey_required', message: 'A passkey is required.' } }));
  assert.ok(e instanceof ApiError);
  assert.equal(e.status, 403);
  assert.equal(e.code, 'passkey_required');
  assert.equal(e.message, 'A passkey is required.');
});

test('errorFromResponse falls back to the status when the body is not ours', () => {
  const cases = [
    [401, '<html>nope</html>', 'unauthorized'],
    [404, '', 'not_found'],
    [410, '{"error":"gone"}', 'gone'],
    [429, '{}', 'too_many_requests'],
    [502, 'Bad Gateway', 'internal'],
    [418, '', 'http_418'],
    [400, '{"error":{"code":"Bad Code!","message":"x"}}', 'bad_request'],
    [400, 'null', 'bad_request'],
  ];
  for (const [status, body, code] of cases) assert.equal(errorFromResponse(status, body).code, code, `${status} ${body}`);
  assert.equal(errorFromResponse(500, '').message, 'HTTP 500');
});

test('requests are JSON, same-origin, and parse the reply', async () => {
  const f = fakeFetch(response(200, { challenge: 'abc', expiresAt: 'x' }));
  const api = createApi({ fetch: f });
  const r = await api.challenge('login');
  assert.deepEqual(r, { challenge: 'abc', expiresAt: 'x' });
  const { url, init } = f.calls[0];
  assert.equal(url, '/api/auth/challenge');
  assert.equal(init.method, 'POST');
  assert.equal(init.credentials, 'same-origin');
  assert.equal(init.headers['Content-Type'], 'application/json');
  assert.equal(init.body, '{"purpose":"login"}');
});

test('GET has no body or content type; 204 gives null; path parts are encoded', async () => {
  const f = fakeFetch(response(204));
  const api = createApi({ fetch: f });
  assert.equal(await api.deleteInvite('a/b?c'), null);
  assert.equal(f.calls[0].url, '/api/invites/a%2Fb%3Fc');
  await api.me().catch(() => {});
  assert.equal(f.calls[1].init.body, undefined);
  assert.equal(f.calls[1].init.headers['Content-Type'], undefined);
});

test('a 401 calls onUnauthorized unless the call expects it', async () => {
  const seen = [];
  const api = createApi({ fetch: fakeFetch(response(401, { error: { code: 'unauthorized', message: 'no' } })), onUnauthorized: (e, p) => seen.push(p) });
  await assert.rejects(api.volunteers(), (e) => e.code === 'unauthorized' && e.status === 401);
  await assert.rejects(api.login({}), (e) => e.code === 'unauthorized');
  await assert.rejects(api.me({ expect401: true }), (e) => e.status === 401);
  assert.deepEqual(seen, ['/api/volunteers']);
});

test('network failures and non-JSON success bodies become ApiErrors', async () => {
  const down = createApi({ fetch: async () => { throw new TypeError('Failed to fetch'); } });
  await assert.rejects(down.config(), (e) => e instanceof ApiError && e.code === 'network' && e.status === 0);
  const weird = createApi({ fetch: fakeFetch(response(200, 'not json', { json: false })) });
  await assert.rejects(weird.config(), (e) => e.code === 'bad_response');
});

test('createInvite sends ttlHours only when given', async () => {
  const f = fakeFetch(response(200, {}));
  const api = createApi({ fetch: f });
  await api.createInvite('volunteer');
  await api.createInvite('admin', 24);
  assert.equal(f.calls[0].init.body, '{"role":"volunteer"}');
  assert.equal(f.calls[1].init.body, '{"role":"admin","ttlHours":24}');
});

test('query strings carry only the filters that are set', async () => {
  const { query } = await import('../src/api.js');
  assert.equal(query({}), '');
  assert.equal(query({ cursor: '', from: '2026-03-01', hasNote: true, volunteer: undefined, x: false }), '?from=2026-03-01&hasNote=true');
  const f = fakeFetch(response(200, { calls: [], next: '' }));
  const api = createApi({ fetch: f });
  await api.calls({ cursor: 'a b&c', to: '2026-03-02' });
  assert.equal(f.calls[0].url, '/api/calls?cursor=a+b%26c&to=2026-03-02');
  await api.banCaller('c/1');
  assert.equal(f.calls[1].url, '/api/calls/c%2F1/ban');
  assert.equal(f.calls[1].init.body, undefined, 'no reason, no body');
  await api.addPasskey({ id: 'x' });
  assert.deepEqual(JSON.parse(f.calls[2].init.body), { credential: { id: 'x' } }, 'passkeys carry no name');
});

test('putPrompt sends the recording as it is, as audio/wav', async () => {
  const f = fakeFetch(response(200, { name: 'greeting', lang: 'es', state: 'custom', seconds: 2 }));
  const api = createApi({ fetch: f });
  const wav = new Uint8Array([82, 73, 70, 70]);
  const p = await api.putPrompt('es', 'greeting', wav);
  assert.equal(p.state, 'custom');
  const { url, init } = f.calls[0];
  assert.equal(url, '/api/prompts/es/greeting');
  assert.equal(init.method, 'PUT');
  assert.equal(init.headers['Content-Type'], 'audio/wav');
  assert.equal(init.body, wav);
  assert.equal(api.promptUrl('es', 'greeting'), '/api/prompts/es/greeting');
});
