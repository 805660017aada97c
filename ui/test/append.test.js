// The DOM's own append (and prepend, replaceChildren…) turns null into the
// text "null" on screen; dom.js's append skips it. This reads every source
// file and fails on a native call given an argument that may be null: a
// conditional (a ? b : null) or a guard (a && b) at the call's top level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.js') ? [p] : [];
  });
}

// topLevelArgs returns the arguments of the call whose '(' is at open, as
// source text, skipping strings and nested brackets.
export function topLevelArgs(text, open) {
  const args = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        args.push(text.slice(start, i));
        return args;
      }
    } else if (c === ',' && depth === 1) {
      args.push(text.slice(start, i));
      start = i + 1;
    }
  }
  return args;
}

// maybeNull: a top-level ?: with a null/undefined branch, or a top-level &&.
export function maybeNull(arg) {
  let depth = 0;
  let flat = '';
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < arg.length && arg[i] !== c; i++) if (arg[i] === '\\') i++;
      flat += '""';
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0) flat += c;
  }
  return /:\s*(null|undefined)\s*$/.test(flat) || /\?\s*(null|undefined)\s*:/.test(flat) || /&&/.test(flat);
}

test('the scanner sees what it must', () => {
  const text = "x.append(a, b ? h('p', {}, 'x, y') : null)";
  const args = topLevelArgs(text, text.indexOf('('));
  assert.equal(args.length, 2);
  assert.equal(maybeNull(args[1]), true);
  assert.equal(maybeNull("h('p', {}, a ? b : null)"), false);
  assert.equal(maybeNull('ok && button()'), true);
});

test('no native append, prepend or replaceChildren is given a maybe-null', () => {
  const bad = [];
  for (const f of files(src)) {
    const text = readFileSync(f, 'utf8');
    const re = /\.(append|prepend|replaceChildren|before|after|replaceWith)\(/g;
    for (let m; (m = re.exec(text)); ) {
      const open = m.index + m[0].length - 1;
      for (const a of topLevelArgs(text, open)) {
        if (maybeNull(a)) bad.push(`${path.relative(src, f)}:${text.slice(0, m.index).split('\n').length}: ${a.trim().slice(0, 80)}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});
