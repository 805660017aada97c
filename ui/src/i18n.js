// Translation: flat dictionaries of 'area.key' → string, with {name}
// placeholders. English is the reference; a key missing in another language
// falls back to English, and a key missing everywhere shows the key itself so
// it is noticed instead of rendering nothing.

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
];

export const DEFAULT_LANG = 'en';

export function createI18n(dicts, lang = DEFAULT_LANG) {
  let current = dicts[lang] ? lang : DEFAULT_LANG;
  const listeners = new Set();
  function t(key, vars) {
    const s = dicts[current]?.[key] ?? dicts[DEFAULT_LANG]?.[key] ?? key;
    return vars ? interpolate(s, vars) : s;
  }
  return {
    t,
    has(key) {
      return Object.prototype.hasOwnProperty.call(dicts[current] || {}, key) ||
        Object.prototype.hasOwnProperty.call(dicts[DEFAULT_LANG] || {}, key);
    },
    get lang() {
      return current;
    },
    setLang(code) {
      if (!dicts[code] || code === current) return false;
      current = code;
      for (const fn of listeners) fn(code);
      return true;
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

export function interpolate(s, vars) {
  return s.replace(/\{([A-Za-z0-9_]+)\}/g, (m, name) =>
    Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m,
  );
}

// pickLanguage chooses the first supported language among a stored choice
// and the browser's preferences ('es-MX' matches 'es').
export function pickLanguage(stored, browserLangs, supported) {
  const ok = (c) => typeof c === 'string' && supported.includes(c);
  if (ok(stored)) return stored;
  for (const l of browserLangs || []) {
    const base = String(l).toLowerCase().split('-')[0];
    if (ok(base)) return base;
  }
  return supported.includes(DEFAULT_LANG) ? DEFAULT_LANG : supported[0];
}

// tk marks a key that is chosen at run time (from a table) so the key-usage
// test can still find every key the code may ask for.
export function tk(key) {
  return key;
}
