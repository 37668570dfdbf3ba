/**
 * The tests' served viewer: a site's OHIF with ChestAid installed as docs/deploying.md says, in a
 * temporary directory. The pinned OHIF dist (linked) with a site's own app-config.js
 * (test/deploy/site/app-config.js: its PACS under another name, stock modes, its own name), then
 * `npm run build`'s dist/ installed by deploy/install.mjs (copied in, chestaid-config.js included
 * in index.html). Beside them, as a careless copy would leave them, the whole models/ folder
 * (training output included) and all of onnxruntime-web's and TensorFlow.js's wasm backend's dist: the server must hide what the
 * viewer does not fetch. The demo studies are linked under chestaid/demo.
 *
 * The build runs fresh (webpack, into `buildDir`) unless CHESTAID_TEST_DIST names one already
 * made by `npm run build` (the same command; it saves a production build when one was just run).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { install } from '../../deploy/install.mjs';
import { fetchOhif, ohifDistDir } from '../../scripts/fetch-ohif.mjs';
import { DEMO, makeDemoStudies } from '../../scripts/make-demo-studies.mjs';
import { ROOT } from '../e2e/harness.mjs';

/** Links every entry of `from` into `to` that `to` does not hold, but `except`. */
function linkEntries(from, to, except = []) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (!except.includes(name) && !existsSync(join(to, name))) symlinkSync(join(from, name), join(to, name));
  }
}

/** [file, bytes, gzipped] for each file of `dir` with a .gz copy beside it. */
function precompressed(dir) {
  return readdirSync(dir)
    .filter(name => name.endsWith('.gz'))
    .map(name => {
      const file = join(dir, name.slice(0, -'.gz'.length));
      return [file, statSync(file).size, statSync(join(dir, name)).size];
    });
}

/** `npm run build` into `buildDir`, or the dist CHESTAID_TEST_DIST names. */
function deliverable(buildDir) {
  if (process.env.CHESTAID_TEST_DIST) return resolve(ROOT, process.env.CHESTAID_TEST_DIST);
  execFileSync('npx', ['webpack', '--mode', 'production', '--output-path', buildDir], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: 'pipe',
  });
  return buildDir;
}

/**
 * Assembles the viewer under `out` (a fresh directory; the build goes to `buildDir`, outside it)
 * and returns the files the build pre-compressed, as [file under out, bytes, gzipped].
 */
export function assembleViewerRoot(out, { buildDir }) {
  fetchOhif({ log: () => {} });
  makeDemoStudies();
  const dist = deliverable(buildDir);
  // The site's viewer: OHIF's files, its own configuration, and an index.html of its own (written to).
  linkEntries(ohifDistDir, out, ['app-config.js', 'index.html']);
  copyFileSync(join(ROOT, 'test/deploy/site/app-config.js'), join(out, 'app-config.js'));
  copyFileSync(join(ohifDistDir, 'index.html'), join(out, 'index.html'));
  install({ root: out, dist });
  linkEntries(join(ROOT, 'node_modules/onnxruntime-web/dist'), join(out, 'chestaid/ort'));
  linkEntries(join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/wasm-out'), join(out, 'chestaid/tfjs'));
  linkEntries(join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'), join(out, 'chestaid/tfjs'));
  for (const model of readdirSync(join(ROOT, 'models'))) linkEntries(join(ROOT, 'models', model), join(out, 'models', model));
  mkdirSync(join(out, 'chestaid/demo'));
  linkEntries(DEMO.outDir, join(out, 'chestaid/demo'));
  symlinkSync(join(DEMO.sourceDir, 'dicom'), join(out, 'chestaid/demo/dicom'));
  const models = readdirSync(join(out, 'models')).filter(name => name.startsWith('sha256-'));
  return [...precompressed(join(out, 'chestaid/ort')), ...precompressed(join(out, 'chestaid/tfjs')), ...models.flatMap(model => precompressed(join(out, 'models', model)))];
}

/**
 * The same site with its login: a second root `out` beside `root` (its files linked), whose
 * app-config.js is the site's own with OHIF's `oidc` setting added, as docs/deploying.md's login
 * section tells a site to write it.
 */
export function withLogin(root, out, { authority, clientId, scope }) {
  linkEntries(root, out, ['app-config.js', 'index.html']);
  copyFileSync(join(root, 'index.html'), join(out, 'index.html'));
  const oidc = {
    authority,
    client_id: clientId,
    redirect_uri: '/callback',
    post_logout_redirect_uri: '/',
    response_type: 'code',
    scope,
    automaticSilentRenew: true,
    revokeAccessTokenOnSignout: true,
  };
  const site = readFileSync(join(root, 'app-config.js'), 'utf8');
  writeFileSync(join(out, 'app-config.js'), `${site}\n// The site's login (docs/deploying.md, Login).\nwindow.config.oidc = [${JSON.stringify(oidc)}];\n`);
}
