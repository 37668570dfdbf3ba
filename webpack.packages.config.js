/**
 * The npm packages' own builds (`npm run build -w extension`, `-w mode`, and `npm pack` through
 * their prepack script): one UMD file per package in <package>/dist/index.umd.js, as OHIF builds
 * its extensions and modes, so a site that builds OHIF with pluginConfig.json can add them.
 *
 * Everything the host viewer provides is external (react, react-dom, @ohif/*, @cornerstonejs/*),
 * and so is everything the package declares as a dependency or peer (the site's npm installs
 * those). Only @chestaid/core, a private workspace package, is compiled in from its sources.
 * Not minified and without source maps: the site's build minifies, and a hospital reviewing what
 * it deploys reads the file as it is.
 */
const path = require('node:path');

const ROOT = __dirname;
const AJV_PRECOMPILED = require('./scripts/ajv-precompiled/webpack.cjs');
const PACKAGES = {
  extension: { library: 'ChestAidExtension' },
  mode: { library: 'ChestAidMode' },
};

/** Host-provided packages, whatever the package.json says. */
const HOST = /^(react|react-dom|@ohif\/[^/]+|@cornerstonejs\/[^/]+)(\/|$)/;

/**
 * The inference workers (onnxruntime-web's, TensorFlow.js's) run in a Worker, where nothing
 * provides an external: each and everything it imports are compiled into its own chunk, in a layer of their own so the modules it shares with
 * the page (@chestaid/core) are not made external there too.
 */
const WORKER_LAYER = 'inference-worker';

function externalsFor(packageJson) {
  const declared = new Set([...Object.keys(packageJson.dependencies ?? {}), ...Object.keys(packageJson.peerDependencies ?? {})]);
  return ({ request, contextInfo }, callback) => {
    if (contextInfo.issuerLayer === WORKER_LAYER) return callback();
    // ajv itself gives way to validators compiled at build time (no eval under the viewer's CSP);
    // their runtime helpers (ajv/dist/runtime/*) stay external.
    if (request === 'ajv') return callback();
    const name = request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0];
    if (HOST.test(request) || declared.has(name)) return callback(null, request);
    return callback();
  };
}

module.exports = (env = {}) => {
  const name = env.package;
  if (!PACKAGES[name]) throw new Error(`--env package=${JSON.stringify(name)}: expected one of ${Object.keys(PACKAGES).join(', ')}`);
  const dir = path.join(ROOT, name);
  const packageJson = require(path.join(dir, 'package.json'));
  return {
    mode: 'production',
    context: dir,
    entry: './src/index.ts',
    target: 'web',
    devtool: false,
    output: {
      path: path.join(dir, 'dist'),
      filename: 'index.umd.js',
      // The inference worker: loaded at run time from the viewer's public path (docs/deploying.md).
      chunkFilename: '[name].[contenthash].js',
      library: { name: PACKAGES[name].library, type: 'umd' },
      globalObject: 'globalThis',
      uniqueName: `chestaid-${name}`,
      clean: true,
    },
    externals: [externalsFor(packageJson)],
    externalsType: 'umd',
    resolve: { extensions: ['.ts', '.tsx', '.js', '.json'], conditionNames: ['source', '...'], alias: AJV_PRECOMPILED.alias },
    module: {
      rules: [
        AJV_PRECOMPILED.rule,
        // TensorFlow.js's pthreads load their script from our origin, not a blob: (the CSP).
        { test: /[\\/]@tensorflow[\\/]tfjs-backend-wasm[\\/]dist[\\/]backend_wasm\.js$/, loader: path.join(ROOT, 'scripts/tfjs-threads-loader.cjs') },
        { test: [path.join(dir, 'src/inference/worker.ts'), path.join(dir, 'src/inference/tfjs/worker.ts')], layer: WORKER_LAYER },
        {
          test: /\.tsx?$/,
          exclude: /node_modules/,
          use: { loader: 'ts-loader', options: { transpileOnly: true, configFile: path.join(ROOT, 'tsconfig.json') } },
        },
      ],
    },
    experiments: { layers: true },
    // One file for the page, one for the worker: nothing else a site must know to copy.
    optimization: { minimize: false, splitChunks: false },
    performance: { hints: false },
  };
};
