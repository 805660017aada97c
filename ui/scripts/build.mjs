// Builds the browser bundle into dist/: app.js (esbuild, minified ESM),
// index.html, app.css and the icon. The output depends only on the sources
// and the pinned esbuild, so two builds give identical bytes (checked by
// test/build.test.js). No inline script or style is produced: the CSP is
// script-src 'self'; style-src 'self'.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = process.env.LLAMENOS_UI_OUTDIR
  ? path.resolve(process.env.LLAMENOS_UI_OUTDIR)
  : path.join(root, 'dist');

// Remove the previous build but keep the committed README placeholder.
await mkdir(outdir, { recursive: true });
for (const name of await readdir(outdir)) {
  if (name !== 'README.md') await rm(path.join(outdir, name), { recursive: true, force: true });
}

await build({
  entryPoints: [path.join(root, 'src/app.js')],
  outfile: path.join(outdir, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  charset: 'utf8',
  // Absolute paths must not leak into the bundle (reproducibility).
  absWorkingDir: root,
  logLevel: 'warning',
});

for (const f of ['index.html', 'app.css', 'favicon.svg']) {
  await copyFile(path.join(root, 'static', f), path.join(outdir, f));
}
