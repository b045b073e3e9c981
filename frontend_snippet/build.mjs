// Builds dist/wayline.js (the bundle), dist/loader.js and dist/builder.js (the visual builder,
// loaded only on pages opened from the admin with a builder token), and fails when one exceeds its
// gzip -9 budget. `--size-only` builds in memory and prints what each module weighs.
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';

const BUDGET = { 'wayline.js': 15 * 1024, 'loader.js': 1024, 'builder.js': 16 * 1024 };
const PLACEHOLDER = '__WAYLINE_BUNDLE_URL__';
const sizeOnly = process.argv.includes('--size-only');
const browsers = ['chrome80', 'firefox78', 'safari14', 'edge88'];

// CSS is minified here and imported by the bundle as a plain string.
const cssText = {
  name: 'css-text',
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, async (a) => {
      const r = await esbuild.transform(readFileSync(a.path, 'utf8'), { loader: 'css', minify: true, target: browsers });
      return { contents: r.code.trim(), loader: 'text' };
    });
  },
};

const common = {
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2019',
  legalComments: 'none',
  write: false,
  metafile: true,
  logLevel: 'warning',
  plugins: [cssText],
};

const outputs = {
  'wayline.js': await esbuild.build({
    ...common,
    entryPoints: ['src/main.ts'],
  }),
  'loader.js': await esbuild.build({ ...common, entryPoints: ['src/loader.ts'] }),
  'builder.js': await esbuild.build({ ...common, entryPoints: ['src/builder/main.ts'] }),
};

let failed = false;
const texts = {};
if (!sizeOnly) mkdirSync('dist', { recursive: true });
for (const [name, result] of Object.entries(outputs)) {
  // esbuild bundles; terser squeezes the last few percent (its name mangling gzips better).
  const min = await minify(result.outputFiles[0].text, { ecma: 2019, compress: { passes: 2 }, format: { comments: /^!/ } });
  const code = Buffer.from(min.code);
  texts[name] = min.code;
  const gz = gzipSync(code, { level: 9 }).length;
  const ok = gz <= BUDGET[name];
  failed ||= !ok;
  console.log(`${name.padEnd(11)} ${String(code.length).padStart(6)} B minified  ${String(gz).padStart(6)} B gzip -9  (budget ${BUDGET[name]} B) ${ok ? 'ok' : 'OVER BUDGET'}`);
  if (sizeOnly) console.log(await esbuild.analyzeMetafile(result.metafile));
  else writeFileSync('dist/' + name, code);
}

// Third-party notices travel next to the bundle (the minified bundle carries no comments).
const notices = ['core', 'dom', 'utils'].map((p) => `@floating-ui/${p}\n\n` + readFileSync(`node_modules/@floating-ui/${p}/LICENSE`, 'utf8'));
if (!sizeOnly) writeFileSync('dist/wayline.licenses.txt', notices.join('\n\n'));

const loader = texts['loader.js'];
if (loader.split(PLACEHOLDER).length !== 2) {
  console.error(`loader.js must contain the placeholder ${PLACEHOLDER} exactly once`);
  failed = true;
}
if (failed) process.exit(1);
