// WebAuthn JSON ⇄ browser objects. The server (go-webauthn) speaks JSON with
// base64url (unpadded) buffers; navigator.credentials wants ArrayBuffers in
// and gives ArrayBuffers back. The conversion is done here by hand instead of
// PublicKeyCredential.parse*OptionsFromJSON, which not every browser has.

const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHA.length; i++) LOOKUP[ALPHA.charCodeAt(i)] = i;
// Standard base64 characters are accepted too: some servers pad or use +/.
LOOKUP['+'.charCodeAt(0)] = 62;
LOOKUP['/'.charCodeAt(0)] = 63;

export function bufToB64url(buf) {
  const b = ArrayBuffer.isView(buf)
    ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    : new Uint8Array(buf);
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += ALPHA[n >> 18] + ALPHA[(n >> 12) & 63] + ALPHA[(n >> 6) & 63] + ALPHA[n & 63];
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8);
    out += ALPHA[n >> 18] + ALPHA[(n >> 12) & 63];
    if (i + 1 < b.length) out += ALPHA[(n >> 6) & 63];
  }
  return out;
}

export function b64urlToBytes(s) {
  if (typeof s !== 'string') throw new TypeError('base64url: not a string');
  const str = s.replace(/=+$/, '');
  if (str.length % 4 === 1) throw new TypeError('base64url: bad length');
  const out = new Uint8Array(Math.floor((str.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c] : -1;
    if (v < 0) throw new TypeError('base64url: bad character');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  return out;
}

export function b64urlToBuf(s) {
  return b64urlToBytes(s).buffer;
}

// go-webauthn wraps options as {"publicKey": {...}}; accept both shapes.
function unwrap(json) {
  if (!json || typeof json !== 'object') throw new TypeError('webauthn: options missing');
  return json.publicKey && typeof json.publicKey === 'object' ? json.publicKey : json;
}

function descriptors(list) {
  return (list || []).map((d) => ({ ...d, id: b64urlToBuf(d.id) }));
}

// creationOptions → the argument's publicKey for navigator.credentials.create.
export function creationOptionsFromJSON(json) {
  const o = unwrap(json);
  const out = { ...o, challenge: b64urlToBuf(o.challenge), user: { ...o.user, id: b64urlToBuf(o.user.id) } };
  if (o.excludeCredentials) out.excludeCredentials = descriptors(o.excludeCredentials);
  return out;
}

export function requestOptionsFromJSON(json) {
  const o = unwrap(json);
  const out = { ...o, challenge: b64urlToBuf(o.challenge) };
  if (o.allowCredentials) out.allowCredentials = descriptors(o.allowCredentials);
  return out;
}

// credentialToJSON serialises an attestation (create) or assertion (get) the
// way go-webauthn parses it.
export function credentialToJSON(cred) {
  const r = cred.response;
  const response = { clientDataJSON: bufToB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = bufToB64url(r.attestationObject);
    if (typeof r.getTransports === 'function') response.transports = r.getTransports();
  }
  if (r.authenticatorData) response.authenticatorData = bufToB64url(r.authenticatorData);
  if (r.signature) response.signature = bufToB64url(r.signature);
  if (r.userHandle) response.userHandle = bufToB64url(r.userHandle);
  const out = {
    id: cred.id,
    rawId: bufToB64url(cred.rawId),
    type: cred.type,
    response,
    clientExtensionResults:
      typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {},
  };
  if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
  return out;
}

// createPasskey/getPasskey run the ceremony; `creds` is navigator.credentials.
export async function createPasskey(creds, optionsJSON) {
  const cred = await creds.create({ publicKey: creationOptionsFromJSON(optionsJSON) });
  if (!cred) throw new Error('webauthn: no credential');
  return credentialToJSON(cred);
}

export async function getPasskey(creds, optionsJSON) {
  const cred = await creds.get({ publicKey: requestOptionsFromJSON(optionsJSON) });
  if (!cred) throw new Error('webauthn: no credential');
  return credentialToJSON(cred);
}

export function webauthnSupported(win) {
  return !!(win && win.PublicKeyCredential && win.navigator?.credentials?.create);
}
