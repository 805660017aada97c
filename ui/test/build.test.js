// The bundle: reproducible, complete, and CSP-clean (no inline script or
// style, no external resources, nothing that parses HTML from data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function buildInto(dir) {
  await run(process.execPath, [path.join(root, 'scripts/build.mjs')], { env: { ...process.env, LLAMENOS_UI_OUTDIR: dir }, timeout: 120000 });
  const out = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await readFile(path.join(dir, f));
  return out;
}

test('two builds give identical bytes, with every file the app needs', async (t) => {
  const a = await mkdtemp(path.join(tmpdir(), 'llamenos-ui-a-'));
  const b = await mkdtemp(path.join(tmpdir(), 'llamenos-ui-b-'));
  t.after(() => Promise.all([rm(a, { recursive: true, force: true }), rm(b, { recursive: true, force: true })]));
  const one = await buildInto(a);
  const two = await buildInto(b);
  assert.deepEqual(Object.keys(one), ['app.css', 'app.js', 'favicon.svg', 'index.html']);
  for (const f of Object.keys(one)) assert.ok(one[f].equals(two[f]), `${f} differs between builds`);
  const js = one['app.js'].toString('utf8');
  assert.ok(!js.includes(root), 'no absolute build paths in the bundle');
  assert.ok(!/\binnerHTML\b|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/.test(js), 'no HTML parsing or eval in the bundle');
  assert.ok(js.includes('"nav.volunteers"') || js.includes("'nav.volunteers'") || js.includes('nav.volunteers'), 'locales are bundled');
});

test('index.html has no inline script, inline style or external resource', () => {
  const html = readFileSync(path.join(root, 'static/index.html'), 'utf8');
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    assert.match(m[1], /\bsrc="\/[^"]+"/, 'scripts come from files');
    assert.equal(m[2].trim(), '', 'no inline script body');
  }
  assert.doesNotMatch(html, /<style\b/i);
  assert.doesNotMatch(html, /\sstyle=/i);
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, 'no external resources');
  const css = readFileSync(path.join(root, 'static/app.css'), 'utf8');
  assert.doesNotMatch(css, /@import|url\(\s*['"]?(https?:)?\/\//i, 'no external fonts or images');
});

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith('.js')) out.push(p);
  }
  return out;
}

test('the app sources never build HTML from strings or set inline styles in markup', () => {
  for (const f of files(path.join(root, 'src'))) {
    const text = readFileSync(f, 'utf8');
    const rel = path.relative(root, f);
    assert.doesNotMatch(text, /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment/, rel);
    assert.doesNotMatch(text, /setAttribute\(\s*['"]style['"]/, rel);
  }
});
