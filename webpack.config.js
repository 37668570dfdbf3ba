/**
 * ChestAid inside the pinned prebuilt OHIF viewer (@ohif/app, fetched into .ohif/ by
 * scripts/fetch-ohif.mjs; nothing of OHIF is committed).
 *
 *   npm start       dev server: the OHIF dist as static files, the demo's app-config.js
 *                   (host/app-config.js) and bundle from memory, the model, onnxruntime-web and the
 *                   demo studies; COOP/COEP everywhere
 *   npm run build   dist/: what a site copies into the web root of the OHIF viewer it runs, beside
 *                   its own app-config.js: chestaid-config.js, the bundle, onnxruntime-web's files,
 *                   TensorFlow.js's wasm binaries and the model under its content address (host/deliverable.cjs). CHESTAID_MODEL_DIR
 *                   names the model folder (default models/chestaid-demo).
 *
 * Before anything is built the OHIF dist is fetched if missing and checked against what the
 * extension assumes of it (scripts/check-ohif-host.mjs); a broken assumption stops the build.
 */
const fs = require('node:fs');
const path = require('node:path');

const extensionPackage = require('./extension/package.json');
const modePackage = require('./mode/package.json');
const { DeliverablePlugin } = require('./host/deliverable.cjs');
const { SECURITY_HEADERS, contentSecurityPolicy, pacsRefusal, MODEL_FILE, ORT_FILE, TFJS_FILE } = require('./deploy/policy.cjs');
// webpack's own minimizer (what mode: 'production' uses), configured here only to leave one chunk alone.
const MinimizerPlugin = require(require.resolve('minimizer-webpack-plugin', { paths: [require.resolve('webpack')] }));
const { version: reactVersion } = require('react/package.json');

const ROOT = __dirname;
const AJV_PRECOMPILED = require('./scripts/ajv-precompiled/webpack.cjs');
const BUNDLE = 'chestaid/chestaid.js';

/** Served beside the viewer; the values app-config.js and the extension's configuration use. */
const PATHS = {
  models: '/models',
  ort: '/chestaid/ort/',
  tfjs: '/chestaid/tfjs/',
  manifest: '/models/chestaid-demo/manifest.json',
  // The PACS's DICOMweb root as the viewer sees it: the dev server proxies it to Orthanc, which
  // sends no CORS headers and answers only on loopback.
  pacs: '/pacs/dicom-web',
};

/**
 * Which study list the viewer opens with: the embedded demo studies ("demo", the default) or the
 * PACS ("pacs": a DICOMweb server, Orthanc from `npm run pacs:start` unless CHESTAID_PACS_URL names
 * another). Both are listed in app-config.js, so `?datasources=pacs` or `?datasources=dicomjson`
 * switches in the running viewer too.
 */
const DATA_SOURCES = { demo: 'dicomjson', pacs: 'pacs' };
function defaultDataSource() {
  const choice = process.env.CHESTAID_DATA_SOURCE || 'demo';
  if (!DATA_SOURCES[choice]) {
    throw new Error(`CHESTAID_DATA_SOURCE=${JSON.stringify(choice)}: expected one of ${Object.keys(DATA_SOURCES).join(', ')}`);
  }
  return DATA_SOURCES[choice];
}
const PACS_URL = (process.env.CHESTAID_PACS_URL || 'http://127.0.0.1:8042').replace(/\/+$/, '');

/**
 * The login, when CHESTAID_OIDC_AUTHORITY names an OpenID provider (`node
 * scripts/oidc-dev-provider.mjs` starts one on loopback): OHIF's own `oidc` configuration in
 * app-config.js (authorization code with PKCE), and a PACS proxy that lets through only requests
 * carrying an access token of that provider for the PACS (`CHESTAID_OIDC_AUDIENCE`), checked by
 * the verifier nginx uses (deploy/auth/verifier.mjs). Without it, no login, as before.
 */
const LOGIN = process.env.CHESTAID_OIDC_AUTHORITY
  ? {
      authority: process.env.CHESTAID_OIDC_AUTHORITY,
      clientId: process.env.CHESTAID_OIDC_CLIENT_ID || 'chestaid-viewer',
      audience: process.env.CHESTAID_OIDC_AUDIENCE || 'urn:chestaid:pacs',
      scope: process.env.CHESTAID_OIDC_SCOPE || 'openid profile roles',
    }
  : null;

/**
 * The dev server keeps the limits of the production server (deploy/nginx, deploy/policy.cjs):
 * the same headers on every answer (cross-origin isolation, so multi-threaded wasm; the CSP; nosniff;
 * Referrer-Policy), nothing listed, no source maps, only the model and onnxruntime files the viewer
 * fetches, and a PACS proxy limited to the viewer's DICOMweb routes and methods, refusing other
 * sites, and, with a login, carrying a valid access token (`tokenCheck`: deploy/auth/verifier.mjs).
 * It runs before every other middleware, so refusals carry the headers too.
 */
function policyMiddleware(ohifIndexHtml, tokenCheck) {
  const headers = { ...SECURITY_HEADERS, 'Content-Security-Policy': contentSecurityPolicy(ohifIndexHtml, { oidcAuthority: LOGIN?.authority }) };
  const notFound = (res, why) => {
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`Not found: ${why}\n`);
  };
  return (req, res, next) => {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    const { pathname } = new URL(req.url, 'http://dev-server');
    if (pathname.startsWith('/pacs/')) {
      const origin = `http://${req.headers.host}`;
      const refusal = pacsRefusal({ method: req.method, path: pathname, headers: req.headers }, origin);
      if (!refusal && !tokenCheck) return next();
      if (!refusal) {
        return void tokenCheck.verify(req.headers.authorization).then(
          () => next(),
          error => {
            const status = error instanceof tokenCheck.TokenRefused ? error.status : 503;
            res.statusCode = status;
            res.setHeader('Content-Type', 'text/plain; charset=utf-8');
            if (status === 401) res.setHeader('WWW-Authenticate', tokenCheck.challenge(error));
            res.end(`Refused: ${error.message}\n`);
          },
        );
      }
      res.statusCode = refusal.status;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      return res.end(`Refused: ${refusal.reason}\n`);
    }
    if (pathname.endsWith('.map')) return notFound(res, 'source maps are not served');
    if (pathname.startsWith(`${PATHS.models}/`) && !MODEL_FILE.test(pathname)) return notFound(res, 'not a file the viewer fetches');
    if (pathname.startsWith(PATHS.ort) && !ORT_FILE.test(pathname)) return notFound(res, 'not a file the viewer fetches');
    if (pathname.startsWith(PATHS.tfjs) && !TFJS_FILE.test(pathname)) return notFound(res, 'not a file the viewer fetches');
    return next();
  };
}

// onnxruntime-web loads its .mjs loaders as modules and streams its .wasm files: both need their
// proper types (serve-static would send application/javascript for .mjs).
const STATIC_TYPES = { '.mjs': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm' };
// The dev server brotli-compresses responses on the fly. For the model (28 MB of float weights,
// 9 % smaller compressed) and onnxruntime's wasm (14 MB) that cost more than it saved on every
// cold load from this server: in Chromium 415-534 ms and 316-503 ms, against about 100 ms each
// uncompressed. `no-transform` makes the compression middleware leave them alone (serve-static
// then keeps this Cache-Control and still answers revalidations with 304). A deployment over a
// real network should serve the wasm pre-compressed (brotli: 14.2 -> 3.2 MB).
const UNCOMPRESSED = new Set(['.onnx', '.wasm']);
const staticOptions = {
  setHeaders(res, file) {
    const type = STATIC_TYPES[path.extname(file)];
    if (type) res.setHeader('Content-Type', type);
    if (UNCOMPRESSED.has(path.extname(file))) res.setHeader('Cache-Control', 'public, max-age=0, no-transform');
  },
};

function appConfigSource({ dataSourceName, dataSourceNamespace, studyListUrl, defaultDataSourceName }) {
  const template = fs.readFileSync(path.join(ROOT, 'host/app-config.js'), 'utf8');
  const host = {
    bundleUrl: `/${BUNDLE}`,
    extensionId: extensionPackage.name,
    dataSourceName,
    dataSourceNamespace,
    studyListUrl,
    defaultDataSourceName,
    pacsDataSourceName: DATA_SOURCES.pacs,
    pacsRoot: PATHS.pacs,
    // ChestAid's results go to the PACS when it is the viewer's study list (CHESTAID_DATA_SOURCE=pacs).
    // A browser's own calibration log is refused beside a PACS: there the calibration is the served
    // log, or the manifest's own ('none', the default here: the demo model has no served log).
    resultsPacsRoot: defaultDataSourceName === DATA_SOURCES.pacs ? PATHS.pacs : null,
    calibrationSource: defaultDataSourceName === DATA_SOURCES.pacs ? process.env.CHESTAID_CALIBRATION_SOURCE || 'none' : process.env.CHESTAID_CALIBRATION_SOURCE || 'browser',
    // Which ONNX file of the manifest the viewer runs (ChestAid's modelFile): the manifest's own
    // unless CHESTAID_MODEL_FILE names a variant (model.int8.onnx).
    modelFile: process.env.CHESTAID_MODEL_FILE || null,
    // ChestAid's preloadModel: on unless CHESTAID_PRELOAD_MODEL=false.
    preloadModel: process.env.CHESTAID_PRELOAD_MODEL !== 'false',
    // OHIF's login (its `oidc` setting), or null for none.
    oidc: LOGIN && {
      authority: LOGIN.authority,
      client_id: LOGIN.clientId,
      redirect_uri: '/callback',
      post_logout_redirect_uri: '/',
      response_type: 'code',
      scope: LOGIN.scope,
      automaticSilentRenew: true,
      revokeAccessTokenOnSignout: true,
    },
    manifestUrl: PATHS.manifest,
    ortWasmPaths: PATHS.ort,
    tfjsWasmPaths: PATHS.tfjs,
    // The engine test/e2e sets (CHESTAID_ENGINE); the extension's default ('auto') without it.
    ...(process.env.CHESTAID_ENGINE ? { engine: process.env.CHESTAID_ENGINE } : {}),
  };
  const parts = template.split('CHESTAID_HOST');
  if (parts.length !== 3) {
    // Once in the comment, once as the value.
    throw new Error('host/app-config.js must name CHESTAID_HOST exactly twice (comment and value)');
  }
  return `${parts[0]}CHESTAID_HOST${parts[1]}${JSON.stringify(host, null, 2).replace(/\n/g, '\n  ')}${parts[2]}`;
}

/** Emits app-config.js next to the bundle, so the dev server serves it before the dist's own. */
class AppConfigPlugin {
  constructor(options) {
    this.options = options;
  }

  apply(compiler) {
    const { RawSource } = compiler.webpack.sources;
    compiler.hooks.thisCompilation.tap('ChestAidAppConfig', compilation => {
      compilation.fileDependencies.add(path.join(ROOT, 'host/app-config.js'));
      compilation.hooks.processAssets.tap(
        { name: 'ChestAidAppConfig', stage: compiler.webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL },
        // Left readable (not minimized): it is the file a site edits to point at its own data.
        () => compilation.emitAsset('app-config.js', new RawSource(appConfigSource(this.options)), { minimized: true }),
      );
    });
  }
}

/** The id ChestAid's mode registers under (mode/src/index.ts); checked when the bundle loads. */
const MODE_ID = 'chestaid';

/** The build's deliverable (dist/): chestaid-config.js, onnxruntime-web's files, the model. */
function deliverablePlugin() {
  return new DeliverablePlugin({
    modelDir: path.resolve(ROOT, process.env.CHESTAID_MODEL_DIR || 'models/chestaid-demo'),
    ortDist: path.join(ROOT, 'node_modules/onnxruntime-web/dist'),
    ortPath: PATHS.ort,
    tfjsDist: path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/wasm-out'),
    tfjsPath: PATHS.tfjs,
    build: {
      version: extensionPackage.version,
      bundleUrl: `/${BUNDLE}`,
      extensionId: extensionPackage.name,
      modeId: MODE_ID,
      modePackage: modePackage.name,
      defaults: { ortWasmPaths: PATHS.ort, tfjsWasmPaths: PATHS.tfjs },
    },
  });
}

module.exports = async (env = {}, argv = {}) => {
  const { fetchOhif, ohifAppDir, ohifDistDir } = await import('./scripts/fetch-ohif.mjs');
  const { checkOhifHost } = await import('./scripts/check-ohif-host.mjs');
  const { DEMO, makeDemoStudies } = await import('./scripts/make-demo-studies.mjs');

  const verifier = LOGIN && (await import('./deploy/auth/verifier.mjs'));
  const tokenCheck = verifier && {
    verify: verifier.createVerifier({ issuer: LOGIN.authority, audience: LOGIN.audience }),
    TokenRefused: verifier.TokenRefused,
    challenge: verifier.challenge,
  };

  fetchOhif();
  const host = checkOhifHost(ohifAppDir, { reactVersion });
  console.log(`ChestAid: OHIF ${host.ohifVersion}, Cornerstone ${host.cornerstoneVersion}, React ${host.reactVersion} (host checked)`);
  makeDemoStudies();

  const mode = argv.mode ?? 'production';
  // The name under which extension/src/id.js registers the study-list data source.
  const dataSourceName = 'dicomjson';
  return {
    mode,
    context: ROOT,
    entry: { chestaid: './host/chestaid.js' },
    devtool: 'source-map',
    experiments: { outputModule: true },
    output: {
      path: path.join(ROOT, 'dist'),
      publicPath: '/',
      filename: BUNDLE,
      chunkFilename: 'chestaid/[name].[contenthash].js',
      library: { type: 'module' },
      // The host's bundler runtime uses globalThis.rspackChunk; ours must never touch it.
      uniqueName: 'chestaid',
      chunkLoadingGlobal: 'chestaidChunk',
      clean: true,
    },
    // Workspace packages (@chestaid/core) are bundled from their TypeScript sources; ajv's schema
    // compiler, which needs eval, gives way to validators compiled now (the CSP allows no eval).
    resolve: { extensions: ['.ts', '.tsx', '.js', '.json'], conditionNames: ['source', '...'], alias: AJV_PRECOMPILED.alias },
    module: {
      rules: [
        AJV_PRECOMPILED.rule,
        // TensorFlow.js's pthreads load their script from our origin, not a blob: (the CSP).
        { test: /[\\/]@tensorflow[\\/]tfjs-backend-wasm[\\/]dist[\\/]backend_wasm\.js$/, loader: path.join(ROOT, 'scripts/tfjs-threads-loader.cjs') },
        {
          test: /\.tsx?$/,
          exclude: /node_modules/,
          // Types are checked by `npm run typecheck`; the build only strips them.
          use: { loader: 'ts-loader', options: { transpileOnly: true } },
        },
      ],
    },
    // The dev server serves the demo's whole configuration as /app-config.js; a build writes what a
    // site adds to its own.
    plugins: [
      env.WEBPACK_SERVE
        ? new AppConfigPlugin({
            dataSourceName,
            dataSourceNamespace: `${extensionPackage.name}.dataSourcesModule.${dataSourceName}`,
            studyListUrl: `${DEMO.urlPrefix}/${DEMO.documentName}`,
            defaultDataSourceName: defaultDataSource(),
          })
        : deliverablePlugin(),
    ],
    optimization: {
      // TensorFlow.js's wasm backend starts its threads from the source text of its emscripten
      // factory (Function.prototype.toString into a blob worker), so renaming identifiers breaks
      // it ("r is not defined" in every pthread; tensorflow/tfjs#4107, #4539): it gets a chunk of
      // its own, in the TensorFlow.js engine's worker only, that the minimizer skips.
      //
      // The rest of TensorFlow.js (tfjs-core and the kernels it shares with tfjs-backend-cpu) is a
      // chunk of its own as well, minified with its unused exports dropped even by the dev server:
      // unminified it is 4.9 MB, which the engine's worker took about 0.5 s to load before its
      // first request, on every cold start of `npm start` (195 KB minified).
      splitChunks: {
        cacheGroups: {
          tfjsBackendWasm: { test: /[\\/]node_modules[\\/]@tensorflow[\\/]tfjs-backend-wasm[\\/]/, name: 'tfjs-backend-wasm', chunks: 'all', enforce: true },
          tfjs: { test: /[\\/]node_modules[\\/]@tensorflow[\\/](?!tfjs-backend-wasm[\\/])/, name: 'tfjs', chunks: 'all', enforce: true },
        },
      },
      ...(mode === 'production'
        ? { minimizer: [new MinimizerPlugin({ test: /\.[cm]?js(\?.*)?$/i, minify: MinimizerPlugin.terserMinify })] }
        : { usedExports: true, minimize: true, minimizer: [new MinimizerPlugin({ test: /tfjs(-backend-wasm)?\.[0-9a-f]+\.js$/, minify: MinimizerPlugin.terserMinify })] }),
    },
    performance: { hints: false },
    watchOptions: { ignored: ['**/node_modules/**', '**/.ohif/**', '**/build/**'] },
    devServer: {
      // Loopback unless told otherwise: the viewer shows patient images.
      host: process.env.HOST || 'localhost',
      port: Number(process.env.PORT) || 3000,
      hot: false,
      historyApiFallback: true,
      setupMiddlewares(middlewares, devServer) {
        devServer.app.disable('x-powered-by');
        middlewares.unshift({ name: 'chestaid-policy', middleware: policyMiddleware(fs.readFileSync(path.join(ohifDistDir, 'index.html'), 'utf8'), tokenCheck) });
        return middlewares;
      },
      // /pacs/dicom-web/* -> <PACS>/dicom-web/*; the viewer's only way to the PACS (what may pass:
      // policyMiddleware above).
      proxy: [{ context: ['/pacs/'], target: PACS_URL, pathRewrite: { '^/pacs': '' } }],
      client: { overlay: { errors: true, warnings: false, runtimeErrors: false } },
      devMiddleware: { publicPath: '/' },
      // No directory listings (serveIndex), anywhere.
      static: [
        { directory: ohifDistDir, publicPath: '/', staticOptions, watch: false, serveIndex: false },
        { directory: path.join(ROOT, 'models'), publicPath: PATHS.models, staticOptions, watch: false, serveIndex: false },
        {
          directory: path.join(ROOT, 'node_modules/onnxruntime-web/dist'),
          publicPath: PATHS.ort,
          staticOptions,
          watch: false,
          serveIndex: false,
        },
        // wasm-out: the three binaries (the same bytes as its dist/) and the threaded factory script.
        { directory: path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/wasm-out'), publicPath: PATHS.tfjs, staticOptions, watch: false, serveIndex: false },
        { directory: path.join(DEMO.sourceDir, 'dicom'), publicPath: `${DEMO.urlPrefix}/dicom`, staticOptions, watch: false, serveIndex: false },
        { directory: DEMO.outDir, publicPath: DEMO.urlPrefix, staticOptions, watch: false, serveIndex: false },
      ],
    },
  };
};
