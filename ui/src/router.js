// Hash routing: everything after '#' stays in the browser, so setup tokens and
// invite codes in links never reach the server's access logs or a proxy.

// Each route: a name, a pattern of literal segments and :params, and who may
// see it. 'public' screens work without a session; 'auth' needs an unlocked
// key and a session; 'admin' additionally needs the admin role.
export const routes = [
  { name: 'home', path: '/', access: 'auth' },
  { name: 'login', path: '/login', access: 'public' },
  { name: 'restore', path: '/restore', access: 'public' },
  { name: 'link', path: '/link', access: 'public' },
  { name: 'setup', path: '/setup/:token', access: 'public' },
  { name: 'invite', path: '/invite/:code', access: 'public' },
  { name: 'account', path: '/account', access: 'auth' },
  { name: 'adminVolunteers', path: '/admin/volunteers', access: 'admin' },
  { name: 'adminInvites', path: '/admin/invites', access: 'admin' },
  { name: 'adminSettings', path: '/admin/settings', access: 'admin' },
  { name: 'adminShifts', path: '/admin/shifts', access: 'admin' },
  { name: 'adminFields', path: '/admin/fields', access: 'admin' },
  { name: 'adminBans', path: '/admin/bans', access: 'admin' },
  { name: 'adminDashboard', path: '/admin/dashboard', access: 'admin' },
  { name: 'adminAudit', path: '/admin/audit', access: 'admin' },
  { name: 'adminVoicemails', path: '/admin/voicemails', access: 'admin' },
  { name: 'adminVoicemail', path: '/admin/voicemails/:id', access: 'admin' },
  { name: 'calls', path: '/calls', access: 'auth' },
  { name: 'call', path: '/calls/:id', access: 'auth' },
  { name: 'blank', path: '/blank', access: 'public' },
  { name: 'enrolPasskey', path: '/passkey', access: 'auth' },
];

const SEGMENT = /^[A-Za-z0-9._~-]{1,512}$/;

function splitPath(path) {
  return path.split('/').filter((s) => s !== '');
}

// parseHash turns location.hash into {name, params, access}. Anything that
// does not match a route exactly (extra segments, odd characters) is
// 'notFound' rather than a best guess, so a mangled link never half-works.
export function parseHash(hash) {
  let raw = typeof hash === 'string' ? hash : '';
  if (raw.startsWith('#')) raw = raw.slice(1);
  const q = raw.indexOf('?');
  if (q >= 0) raw = raw.slice(0, q);
  if (raw === '') raw = '/';
  if (!raw.startsWith('/')) return { name: 'notFound', params: {}, access: 'public' };
  const parts = splitPath(raw);
  for (const r of routes) {
    const pat = splitPath(r.path);
    if (pat.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < pat.length; i++) {
      if (pat[i].startsWith(':')) {
        let v;
        try {
          v = decodeURIComponent(parts[i]);
        } catch {
          ok = false;
          break;
        }
        if (!SEGMENT.test(v)) {
          ok = false;
          break;
        }
        params[pat[i].slice(1)] = v;
      } else if (pat[i] !== parts[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return { name: r.name, params, access: r.access };
  }
  return { name: 'notFound', params: {}, access: 'public' };
}

// hrefFor builds '#/…' for a route name; params are encoded.
export function hrefFor(name, params = {}) {
  const r = routes.find((x) => x.name === name);
  if (!r) throw new Error(`router: unknown route ${name}`);
  const parts = splitPath(r.path).map((seg) => {
    if (!seg.startsWith(':')) return seg;
    const v = params[seg.slice(1)];
    if (v === undefined || v === '') throw new Error(`router: ${name} needs ${seg.slice(1)}`);
    return encodeURIComponent(String(v));
  });
  return '#/' + parts.join('/');
}

// canEnter decides whether a route may render for the current session, and
// where to go instead. state: {unlocked, role, mustEnrol}; mustEnrol: the
// hotline requires a passkey and this session must enrol one first.
export function guard(route, state) {
  if (route.access === 'public') return { ok: true };
  if (!state.unlocked) return { ok: false, redirect: 'login' };
  if (state.mustEnrol && route.name !== 'enrolPasskey') return { ok: false, redirect: 'enrolPasskey' };
  if (!state.mustEnrol && route.name === 'enrolPasskey') return { ok: false, redirect: 'home' };
  if (route.access === 'admin' && state.role !== 'admin') return { ok: false, redirect: 'home' };
  return { ok: true };
}
