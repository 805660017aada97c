import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createI18n, interpolate, LANGUAGES, pickLanguage } from '../src/i18n.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const load = (code) => JSON.parse(readFileSync(path.join(root, 'src/locales', code + '.json'), 'utf8'));
const dicts = Object.fromEntries(LANGUAGES.map((l) => [l.code, load(l.code)]));

function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (name === 'crypto' || name === 'locales') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.js')) out.push(p);
  }
  return out;
}

// Every key literal in the app's sources: a quoted 'area.name' whose area is
// one of the dictionary's areas. That covers t('x.y'), tk('x.y') and keys
// kept in tables or ternaries.
function usedKeys() {
  const areas = new Set(Object.keys(dicts.en).map((k) => k.split('.')[0]));
  const used = new Map();
  for (const file of sources(path.join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/['"`]([a-z][a-zA-Z]*)\.([a-zA-Z][a-zA-Z0-9]*)['"`]/g)) {
      if (!areas.has(m[1])) continue;
      const key = `${m[1]}.${m[2]}`;
      if (!used.has(key)) used.set(key, path.relative(root, file));
    }
  }
  return used;
}

test('every language has exactly the keys of English', () => {
  const en = Object.keys(dicts.en).sort();
  for (const { code } of LANGUAGES) {
    const keys = Object.keys(dicts[code]).sort();
    const missing = en.filter((k) => !(k in dicts[code]));
    const extra = keys.filter((k) => !(k in dicts.en));
    assert.deepEqual({ code, missing, extra }, { code, missing: [], extra: [] });
  }
});

test('translations keep the same placeholders and are not empty', () => {
  for (const [key, en] of Object.entries(dicts.en)) {
    const want = [...en.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const { code } of LANGUAGES) {
      const s = dicts[code][key];
      assert.equal(typeof s, 'string', `${code} ${key}`);
      assert.ok(s.trim().length > 0, `${code} ${key} is empty`);
      const got = [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      assert.deepEqual(got, want, `${code} ${key} placeholders`);
    }
  }
});

test('every key used in src exists, and every key is used', () => {
  const used = usedKeys();
  const missing = [...used].filter(([k]) => !(k in dicts.en)).map(([k, f]) => `${k} (${f})`);
  assert.deepEqual(missing, []);
  const unused = Object.keys(dicts.en).filter((k) => !used.has(k));
  assert.deepEqual(unused, []);
});

test('t interpolates, falls back to English, then to the key', () => {
  const i = createI18n({ en: { 'a.b': 'Hi {name}, {name}!', 'a.c': 'only en' }, es: { 'a.b': 'Hola {name}' } }, 'es');
  assert.equal(i.t('a.b', { name: 'Ana' }), 'Hola Ana');
  assert.equal(i.t('a.c'), 'only en');
  assert.equal(i.t('a.zzz'), 'a.zzz');
  assert.equal(i.has('a.c'), true);
  assert.equal(i.has('a.zzz'), false);
  let seen = null;
  i.onChange((c) => (seen = c));
  assert.equal(i.setLang('en'), true);
  assert.equal(seen, 'en');
  assert.equal(i.t('a.b', { name: 'Ana' }), 'Hi Ana, Ana!');
  assert.equal(i.setLang('fr'), false);
  assert.equal(i.lang, 'en');
});

test('interpolate leaves unknown placeholders and does not re-expand values', () => {
  assert.equal(interpolate('{a} {b}', { a: '{b}' }), '{b} {b}');
  assert.equal(interpolate('{n} left', { n: 0 }), '0 left');
});

test('pickLanguage prefers the stored choice, then the browser, then English', () => {
  const sup = ['en', 'es'];
  assert.equal(pickLanguage('es', ['en-US'], sup), 'es');
  assert.equal(pickLanguage(null, ['fr-FR', 'es-MX'], sup), 'es');
  assert.equal(pickLanguage('de', ['de-DE'], sup), 'en');
  assert.equal(pickLanguage(undefined, undefined, sup), 'en');
});
