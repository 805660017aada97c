// JSON client for the daemon's /api. The session lives in an HttpOnly cookie,
// so requests only need same-origin credentials; the browser adds Origin,
// which the server checks on every state-changing request.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

const STATUS_CODES = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  410: 'gone',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
};

// errorFromResponse maps a non-2xx status and its (possibly non-JSON) body to
// an ApiError. The server's {"error":{code,message}} wins; otherwise the code
// comes from the status so the UI can still say something meaningful.
export function errorFromResponse(status, bodyText) {
  let code = STATUS_CODES[status] || (status >= 500 ? 'internal' : 'http_' + status);
  let message = '';
  let details;
  if (bodyText) {
    try {
      const j = JSON.parse(bodyText);
      const e = j && typeof j === 'object' ? j.error : null;
      if (e && typeof e === 'object') {
        if (typeof e.code === 'string' && /^[a-z_]{1,64}$/.test(e.code)) code = e.code;
        if (typeof e.message === 'string') message = e.message.slice(0, 500);
        if (e.retryAfter !== undefined) details = { retryAfter: e.retryAfter };
        // wrong_origin, wrong_host: the address this hotline must be opened at.
        if (typeof e.origin === 'string' && /^https?:\/\/[^\s/?#]+$/.test(e.origin)) details = { ...details, origin: e.origin };
      }
    } catch {
      // Not JSON (a proxy's HTML page, say): keep the status-derived code.
    }
  }
  return new ApiError(status, code, message || `HTTP ${status}`, details);
}

// query builds '?a=1&b=2' from the non-empty values of obj ('' if none).
export function query(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj || {})) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

export function createApi({ fetch: fetchImpl, base = '', onUnauthorized } = {}) {
  const doFetch = fetchImpl || ((...a) => globalThis.fetch(...a));

  async function request(method, path, body, opts = {}) {
    const init = {
      method,
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      cache: 'no-store',
    };
    if (opts.contentType) {
      // A raw body (a recording), sent as it is.
      init.headers['Content-Type'] = opts.contentType;
      init.body = body;
    } else if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (opts.keepalive) init.keepalive = true;
    let res;
    try {
      res = await doFetch(base + path, init);
    } catch (err) {
      throw new ApiError(0, 'network', err && err.message ? err.message : 'network error');
    }
    const text = res.status === 204 ? '' : await res.text().catch(() => '');
    if (!res.ok) {
      const err = errorFromResponse(res.status, text);
      if (err.status === 401 && onUnauthorized && !opts.expect401) onUnauthorized(err, path);
      throw err;
    }
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(res.status, 'bad_response', 'response is not JSON');
    }
  }

  const enc = encodeURIComponent;
  return {
    request,
    get: (p, o) => request('GET', p, undefined, o),
    post: (p, b, o) => request('POST', p, b, o),
    put: (p, b, o) => request('PUT', p, b, o),
    patch: (p, b, o) => request('PATCH', p, b, o),
    del: (p, o) => request('DELETE', p, undefined, o),

    // Public.
    health: () => request('GET', '/api/health'),
    config: () => request('GET', '/api/config'),
    challenge: (purpose) => request('POST', '/api/auth/challenge', { purpose }),
    setup: (body) => request('POST', '/api/setup', body, { expect401: true }),
    invite: (code) => request('GET', `/api/invites/${enc(code)}`),
    acceptInvite: (code, body) =>
      request('POST', `/api/invites/${enc(code)}/accept`, body, { expect401: true }),
    login: (body) => request('POST', '/api/auth/login', body, { expect401: true }),
    loginPasskey: (body) => request('POST', '/api/auth/login/passkey', body, { expect401: true }),
    // Linking a new device: the new device's side (not signed in).
    createLink: (commitment) => request('POST', '/api/links', { commitment }),
    linkStatus: (id, token) => request('POST', `/api/links/${enc(id)}/status`, { token }),
    revealLink: (id, token, pubkey) => request('POST', `/api/links/${enc(id)}/reveal`, { token, pubkey }),
    abandonLink: (id, token, o) => request('POST', `/api/links/${enc(id)}/cancel`, { token }, o),

    // Self.
    me: (o) => request('GET', '/api/me', undefined, o),
    putProfile: (profile) => request('PUT', '/api/me/profile', { profile }),
    setAvailability: (available, onBreak) =>
      request('PUT', '/api/me/availability', { available, onBreak }),
    logout: (o) => request('POST', '/api/auth/logout', undefined, { expect401: true, ...o }),
    passkeyOptions: () => request('POST', '/api/auth/passkeys/options'),
    // Passkeys carry no name: a label typed by a volunteer is personal data
    // the server should not hold (docs/api.md).
    addPasskey: (credential) => request('POST', '/api/auth/passkeys', { credential }),
    passkeys: () => request('GET', '/api/auth/passkeys'),
    deletePasskey: (id) => request('DELETE', `/api/auth/passkeys/${enc(id)}`),
    // Linking a new device: the signed-in device's side.
    claimLink: (id) => request('POST', `/api/links/${enc(id)}/claim`),
    answerLink: (id, pubkey) => request('POST', `/api/links/${enc(id)}/answer`, { pubkey }),
    peekLink: (id) => request('GET', `/api/links/${enc(id)}`),
    sealLink: (id, sealed) => request('POST', `/api/links/${enc(id)}/seal`, { sealed }),
    cancelLink: (id, o) => request('DELETE', `/api/links/${enc(id)}`, undefined, o),

    // Admin.
    volunteers: () => request('GET', '/api/volunteers'),
    patchVolunteer: (pubkey, patch) => request('PATCH', `/api/volunteers/${enc(pubkey)}`, patch),
    deleteVolunteer: (pubkey) => request('DELETE', `/api/volunteers/${enc(pubkey)}`),
    createInvite: (role, ttlHours) =>
      request('POST', '/api/invites', ttlHours ? { role, ttlHours } : { role }),
    invites: () => request('GET', '/api/invites'),
    deleteInvite: (id) => request('DELETE', `/api/invites/${enc(id)}`),
    settings: () => request('GET', '/api/settings'),
    putSettings: (s) => request('PUT', '/api/settings', s),
    shifts: () => request('GET', '/api/shifts'),
    putShifts: (s) => request('PUT', '/api/shifts', s),
    putFields: (fields) => request('PUT', '/api/fields', { fields }),
    bans: () => request('GET', '/api/bans'),
    addBan: (body) => request('POST', '/api/bans', body),
    deleteBan: (id) => request('DELETE', `/api/bans/${enc(id)}`),
    audit: (filter = {}) => request('GET', '/api/audit' + query(filter)),
    auditVerify: () => request('GET', '/api/audit/verify'),
    dashboard: () => request('GET', '/api/dashboard'),
    prompts: () => request('GET', '/api/prompts'),
    promptUrl: (lang, name) => `${base}/api/prompts/${enc(lang)}/${enc(name)}`,
    putPrompt: (lang, name, wav) => request('PUT', `/api/prompts/${enc(lang)}/${enc(name)}`, wav, { contentType: 'audio/wav' }),
    revertPrompt: (lang, name) => request('DELETE', `/api/prompts/${enc(lang)}/${enc(name)}`),
    postAdminSet: (statement) => request('POST', '/api/admin-set', { statement }),
    resealPage: (after, limit) => request('GET', '/api/reseal' + query({ after, limit })),
    reseal: (items) => request('POST', '/api/reseal', { items }),
    callTranscripts: (id) => request('GET', `/api/calls/${enc(id)}/transcripts`),
    voicemails: () => request('GET', '/api/voicemails'),
    voicemail: (id) => request('GET', `/api/voicemails/${enc(id)}`),
    setVoicemailHandled: (id, handled) => request('PUT', `/api/voicemails/${enc(id)}/handled`, { handled }),

    // Calls and notes.
    fields: () => request('GET', '/api/fields'),
    rtc: () => request('GET', '/api/rtc'),
    calls: (filter = {}) => request('GET', '/api/calls' + query(filter)),
    call: (id) => request('GET', `/api/calls/${enc(id)}`),
    answer: (id) => request('POST', `/api/calls/${enc(id)}/answer`),
    decline: (id) => request('POST', `/api/calls/${enc(id)}/decline`),
    hangup: (id) => request('POST', `/api/calls/${enc(id)}/hangup`),
    banCaller: (id, reason) => request('POST', `/api/calls/${enc(id)}/ban`, reason ? { reason } : undefined),
    callNotes: (id) => request('GET', `/api/calls/${enc(id)}/notes`),
    createNote: (callId, id, envelope) => request('POST', `/api/calls/${enc(callId)}/notes`, { id, envelope }),
    editNote: (id, envelope) => request('PUT', `/api/notes/${enc(id)}`, { envelope }),
    note: (id) => request('GET', `/api/notes/${enc(id)}`),
    notes: (filter = {}) => request('GET', '/api/notes' + query(filter)),

    // Demo mode only (GET /api/config says demo: true).
    demoPlaceCall: (audio = 'voice', extra = {}) => request('POST', '/api/demo/calls', { audio, ...extra }),
    demoCall: (id) => request('GET', `/api/demo/calls/${enc(id)}`),
    demoHangup: (id) => request('DELETE', `/api/demo/calls/${enc(id)}`),
    demoAsterisk: () => request('GET', '/api/demo/asterisk'),
  };
}
