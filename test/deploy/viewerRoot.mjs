/**
 * The tests' served viewer: what a site puts under nginx's root, assembled in a temporary
 * directory from the pinned OHIF dist, a fresh `npm run build` (webpack, into that directory),
 * onnxruntime-web's dist, the whole models/ folder (training output included, as a careless copy
 * would have it: the server must hide what the viewer does not fetch) and the demo studies, with
 * pre-compressed .gz copies of the wasm and the model weights beside them (gzip_static).
 * Files are symbolic links except the build and the .gz copies.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { fetchOhif, ohifDistDir } from '../../scripts/fetch-ohif.mjs';
import { DEMO, makeDemoStudies } from '../../scripts/make-demo-studies.mjs';
import { ROOT } from '../e2e/harness.mjs';

/** Links every entry of `from` into `to`, but `except`. */
function linkEntries(from, to, except = []) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) if (!except.includes(name)) symlinkSync(join(from, name), join(to, name));
}

/** Writes name.gz beside each file of `dir` whose name matches `pattern`; returns [file, bytes, gzipped]. */
export function precompress(dir, pattern) {
  const saved = [];
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (!pattern.test(name) || !statSync(file).isFile()) continue;
    const bytes = readFileSync(file);
    const gz = gzipSync(bytes, { level: 9 });
    writeFileSync(`${file}.gz`, gz);
    saved.push([file, bytes.length, gz.length]);
  }
  return saved;
}

/**
 * Assembles the viewer under `out` (a fresh directory) and returns the precompressed files.
 * `env` reaches the build (CHESTAID_DATA_SOURCE=pacs opens the PACS's study list).
 */
export function assembleViewerRoot(out, { env = {} } = {}) {
  fetchOhif({ log: () => {} });
  makeDemoStudies();
  const build = join(out, '.build');
  execFileSync('npx', ['webpack', '--mode', 'production', '--output-path', build], {
    cwd: ROOT,
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: 'pipe',
  });
  linkEntries(ohifDistDir, out, ['app-config.js']);
  symlinkSync(join(build, 'app-config.js'), join(out, 'app-config.js'));
  linkEntries(join(build, 'chestaid'), join(out, 'chestaid'));
  linkEntries(join(ROOT, 'node_modules/onnxruntime-web/dist'), join(out, 'chestaid/ort'));
  mkdirSync(join(out, 'models'));
  for (const model of readdirSync(join(ROOT, 'models'))) linkEntries(join(ROOT, 'models', model), join(out, 'models', model));
  mkdirSync(join(out, 'chestaid/demo'));
  linkEntries(DEMO.outDir, join(out, 'chestaid/demo'));
  symlinkSync(join(DEMO.sourceDir, 'dicom'), join(out, 'chestaid/demo/dicom'));
  return [
    ...precompress(join(out, 'chestaid/ort'), /^ort-wasm-simd-threaded(\.asyncify)?\.wasm$/),
    ...readdirSync(join(out, 'models')).flatMap(model => precompress(join(out, 'models', model), /\.onnx$/)),
  ];
}
