/**
 * Bundles test/bench/page.ts (the inference client, its worker and the core) for the WebGPU e2e
 * check and the benchmark. Separate from the root webpack.config.js on purpose: this page is a
 * test harness, not the OHIF extension.
 *
 * onnxruntime-web is NOT bundled: the worker imports it at run time from ortBaseUrl, which the
 * test server maps to node_modules/onnxruntime-web/dist (1.30.0).
 */
const path = require('node:path');

// webpack's own minimizer (what mode: 'production' uses), configured here only to leave one chunk alone.
const MinimizerPlugin = require(require.resolve('minimizer-webpack-plugin', { paths: [require.resolve('webpack')] }));

const ROOT = path.resolve(__dirname, '../..');

module.exports = {
  mode: 'production',
  context: ROOT,
  target: 'web',
  entry: { page: './test/bench/page.ts' },
  // ES module output, as the root build emits the extension: the worker chunk is then built the
  // way the viewer loads it.
  experiments: { outputModule: true },
  output: {
    path: path.resolve(__dirname, 'dist'),
    filename: '[name].js',
    chunkFilename: '[name].[contenthash:8].js',
    publicPath: 'auto',
    module: true,
    library: { type: 'module' },
    clean: true,
    chunkLoadingGlobal: 'chestaidBenchChunk',
  },
  resolve: { extensions: ['.ts', '.js'], conditionNames: ['source', '...'] },
  module: {
    rules: [
      {
        test: /\.ts$/,
        loader: 'ts-loader',
        options: {
          transpileOnly: true,
          configFile: path.join(ROOT, 'tsconfig.json'),
          compilerOptions: { module: 'esnext', sourceMap: true },
        },
      },
    ],
  },
  optimization: {
    // TensorFlow.js's wasm backend starts its threads from the source text of its emscripten
    // factory (Function.prototype.toString into a blob worker), so renaming identifiers breaks
    // it ("r is not defined" in every pthread; tensorflow/tfjs#4107, #4539). It gets a chunk of
    // its own that the minimizer skips. Only the TensorFlow.js engine's worker (issue 19) uses it.
    splitChunks: {
      cacheGroups: {
        tfjsBackendWasm: { test: /[\\/]node_modules[\\/]@tensorflow[\\/]tfjs-backend-wasm[\\/]/, name: 'tfjs-backend-wasm', chunks: 'all', enforce: true },
      },
    },
    minimizer: [new MinimizerPlugin({ test: /\.[cm]?js(\?.*)?$/i, exclude: /tfjs-backend-wasm/, minify: MinimizerPlugin.terserMinify, minimizerOptions: { compress: { passes: 2 } } })],
  },
  devtool: 'source-map',
  performance: { hints: false },
  stats: 'errors-warnings',
};
