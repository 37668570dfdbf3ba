/**
 * Bundles test/bench/page.ts (the inference client, its worker and the core) for the WebGPU e2e
 * check and the benchmark. Separate from the root webpack.config.js on purpose: this page is a
 * test harness, not the OHIF extension.
 *
 * onnxruntime-web is NOT bundled: the worker imports it at run time from ortBaseUrl, which the
 * test server maps to node_modules/onnxruntime-web/dist (1.30.0).
 */
const path = require('node:path');

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
  devtool: 'source-map',
  performance: { hints: false },
  stats: 'errors-warnings',
};
