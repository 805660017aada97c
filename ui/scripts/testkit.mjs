// Helpers for the crypto tests in ui/test. Kept outside test/ because
// `node --test test/` runs every module in that folder as a test file.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const vectorsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../testdata/vectors');

export function readVectors(name) {
  return JSON.parse(readFileSync(path.join(vectorsDir, name), 'utf8'));
}

/**
 * shared/reference, found like the Go tests do: $LLAMENOS_REFERENCE_DIR, else
 * shared/reference in the working directory or any ancestor. null if absent.
 */
export function referenceDir() {
  if (process.env.LLAMENOS_REFERENCE_DIR) return process.env.LLAMENOS_REFERENCE_DIR;
  let dir = process.cwd();
  for (;;) {
    const c = path.join(dir, 'shared', 'reference');
    if (existsSync(c) && statSync(c).isDirectory()) return c;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** A localStorage stand-in backed by a Map. */
export class MemoryStorage {
  #m = new Map();
  getItem(k) {
    return this.#m.has(k) ? this.#m.get(k) : null;
  }
  setItem(k, v) {
    this.#m.set(k, String(v));
  }
  removeItem(k) {
    this.#m.delete(k);
  }
  get size() {
    return this.#m.size;
  }
}

/** Asserts fn throws a CryptoError whose code is one of codes. */
export function codeOf(fn) {
  try {
    const r = fn();
    return { ok: true, value: r };
  } catch (err) {
    return { ok: false, code: err?.code, err };
  }
}
