/**
 * What `npm run build` writes into dist/ beside the bundle, for a site to copy into the web root of
 * the OHIF viewer it already runs (docs/deploying.md):
 *
 *   chestaid-config.js           host/chestaid-config.js with the build's values: adds ChestAid to
 *                                the site's window.config, its settings from window.config.chestaid
 *   chestaid/LICENSE             ChestAid's licence (MIT)
 *   chestaid/ort/                the onnxruntime-web files the inference worker loads, and no others
 *   chestaid/tfjs/               TensorFlow.js's wasm backend binaries and its threads' script (the
 *                                second engine), and no others
 *   models/sha256-<hex>/         the model: manifest.json and the ONNX files it names, nothing else
 *                                (no splits, history or reports); <hex> is the sha256 of manifest.json,
 *                                which names each ONNX file by its own sha256 (checked here), so the
 *                                URL changes whenever any byte the viewer fetches does and the web
 *                                server may cache the folder as immutable
 *
 * with a gzip copy (file.gz) of each wasm and ONNX file for nginx's gzip_static.
 */
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { gzipSync } = require('node:zlib');

const { ORT_FILE, TFJS_FILE } = require('../deploy/policy.cjs');

const TEMPLATE = path.join(__dirname, 'chestaid-config.js');
const LICENSE = path.join(__dirname, '../LICENSE');
const PLACEHOLDER = 'CHESTAID_BUILD';

/**
 * The settings a site may give in window.config.chestaid: the extension's configuration
 * (extension/src/config.ts), one name each. docs/deploying.md has the table; a test keeps the
 * three in step.
 */
const SETTINGS = ['manifestUrl', 'ortWasmPaths', 'tfjsWasmPaths', 'engine', 'pacsRoot', 'pacsDataSourceName', 'calibrationSource', 'readerName', 'login', 'preloadModel', 'modelFile'];

const sha256 = bytes => createHash('sha256').update(bytes).digest('hex');

/**
 * chestaid-config.js for a build. `build`: { version, bundleUrl, extensionId, modeId, modePackage,
 * defaults } (defaults: the settings the build fixes, the model URL and the onnxruntime folder).
 */
function chestAidConfigSource(build) {
  const unknown = Object.keys(build.defaults).filter(key => !SETTINGS.includes(key));
  if (unknown.length > 0) throw new Error(`chestaid-config.js defaults name unknown settings: ${unknown.join(', ')}`);
  const template = fs.readFileSync(TEMPLATE, 'utf8');
  const parts = template.split(PLACEHOLDER);
  if (parts.length !== 3) {
    // Once in the comment, once as the value.
    throw new Error(`host/chestaid-config.js must name ${PLACEHOLDER} exactly twice (comment and value)`);
  }
  const value = JSON.stringify({ ...build, settings: SETTINGS }, null, 2).replace(/\n/g, '\n  ');
  const banner = `// ChestAid ${build.version}: ${build.defaults.manifestUrl}. Written by npm run build; do not edit, set window.config.chestaid.\n`;
  return `${banner}${parts[0]}${PLACEHOLDER}${parts[1]}${value}${parts[2]}`;
}

/**
 * The files of `modelDir` the viewer fetches, and the content address they are served under.
 * Throws, naming the file, when an ONNX file's bytes are not the ones the manifest names: the
 * address would then promise content it does not hold.
 */
function contentAddressedModel(modelDir) {
  const manifestFile = path.join(modelDir, 'manifest.json');
  const manifestBytes = fs.readFileSync(manifestFile);
  const manifest = JSON.parse(manifestBytes.toString('utf8'));
  const weights = [manifest.onnx, ...(manifest.onnx?.variants ?? [])];
  const files = ['manifest.json'];
  for (const entry of weights) {
    if (!entry || typeof entry.file !== 'string' || !/^[A-Za-z0-9._-]+\.onnx$/.test(entry.file)) {
      throw new Error(`${manifestFile}: an ONNX entry without a plain file name (${JSON.stringify(entry?.file)})`);
    }
    const actual = sha256(fs.readFileSync(path.join(modelDir, entry.file)));
    if (actual !== String(entry.sha256).toLowerCase()) {
      throw new Error(`${path.join(modelDir, entry.file)}: sha256 ${actual}, but ${manifestFile} names ${entry.sha256}`);
    }
    files.push(entry.file);
  }
  const hash = sha256(manifestBytes);
  return { hash, dir: `models/sha256-${hash}`, files };
}

/** onnxruntime-web's files the inference worker loads (deploy/policy.cjs), from its dist/. */
function ortFiles(ortDist, ortPath) {
  const files = fs.readdirSync(ortDist).filter(name => ORT_FILE.test(`${ortPath}${name}`));
  if (files.length === 0) throw new Error(`${ortDist}: none of the onnxruntime-web files the viewer loads`);
  return files;
}

/** TensorFlow.js's wasm backend binaries and threads' script (deploy/policy.cjs), from its wasm-out/. */
function tfjsFiles(tfjsDist, tfjsPath) {
  const files = fs.readdirSync(tfjsDist).filter(name => TFJS_FILE.test(`${tfjsPath}${name}`));
  if (files.length !== 4) throw new Error(`${tfjsDist}: expected TensorFlow.js's three wasm binaries and its threads' script, found ${files.join(', ') || 'none'}`);
  return files;
}

function copyInto(fromDir, toDir, files, { gzip }) {
  fs.mkdirSync(toDir, { recursive: true });
  for (const name of files) {
    const to = path.join(toDir, name);
    fs.copyFileSync(path.join(fromDir, name), to);
    if (gzip.test(name)) fs.writeFileSync(`${to}.gz`, gzipSync(fs.readFileSync(to), { level: 9 }));
  }
}

/**
 * Emits chestaid-config.js with the bundle, then copies onnxruntime-web's files and the model into
 * the output folder.
 */
class DeliverablePlugin {
  /** { modelDir, ortDist, ortPath ('/chestaid/ort/'), tfjsDist, tfjsPath ('/chestaid/tfjs/'), build: everything of chestAidConfigSource's but defaults.manifestUrl } */
  constructor(options) {
    this.options = options;
    this.model = contentAddressedModel(options.modelDir);
  }

  get manifestUrl() {
    return `/${this.model.dir}/manifest.json`;
  }

  apply(compiler) {
    const { RawSource } = compiler.webpack.sources;
    const { modelDir, ortDist, ortPath, tfjsDist, tfjsPath, build } = this.options;
    const source = chestAidConfigSource({ ...build, defaults: { ...build.defaults, manifestUrl: this.manifestUrl } });
    compiler.hooks.thisCompilation.tap('ChestAidDeliverable', compilation => {
      compilation.fileDependencies.add(TEMPLATE);
      compilation.hooks.processAssets.tap(
        { name: 'ChestAidDeliverable', stage: compiler.webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL },
        // Left readable (not minimized): a site's IT reads what it includes in its viewer.
        () => compilation.emitAsset('chestaid-config.js', new RawSource(source), { minimized: true }),
      );
    });
    compiler.hooks.afterEmit.tap('ChestAidDeliverable', () => {
      const out = compiler.outputPath;
      copyInto(ortDist, path.join(out, ortPath), ortFiles(ortDist, ortPath), { gzip: /\.wasm$/ });
      copyInto(tfjsDist, path.join(out, tfjsPath), tfjsFiles(tfjsDist, tfjsPath), { gzip: /\.(wasm|js)$/ });
      copyInto(modelDir, path.join(out, this.model.dir), this.model.files, { gzip: /\.onnx$/ });
      // The licence a hospital deploys ChestAid under, with the files it deploys.
      fs.copyFileSync(LICENSE, path.join(out, 'chestaid/LICENSE'));
    });
  }
}

module.exports = { SETTINGS, chestAidConfigSource, contentAddressedModel, ortFiles, tfjsFiles, DeliverablePlugin };
