/**
 * A webpack loader for @tensorflow/tfjs-backend-wasm 4.22's backend_wasm.js, so that its threads
 * start under the viewer's Content-Security-Policy.
 *
 * The threaded backend hands each of its pthread workers the emscripten factory as a Blob
 * (`new Blob(['var WasmBackendModuleThreadedSimd = ' + factory.toString()])`), which the pthread
 * then loads with importScripts(blob:...). The viewer's CSP allows workers from blob: but scripts
 * only from 'self' (deploy/policy.cjs), so every pthread fails ("Failed to execute 'importScripts'
 * ... blob: ... failed to load") and the engine does not load. Rather than allow blob: scripts,
 * the same factory is served from our origin (wasm-out/tfjs-backend-wasm-threaded-simd.js at
 * tfjsWasmPaths) and handed over as a URL: the inference worker sets
 * globalThis.CHESTAID_TFJS_THREADED_SCRIPT_URL (extension/src/inference/tfjs/worker.ts); without it
 * the library's own Blob is used, as before. A release that moves the expression fails the build.
 */
const BLOB = /factoryConfig\.mainScriptUrlOrBlob = (new Blob\(\[`var WasmBackendModuleThreadedSimd = ` \+\s*wasmFactoryThreadedSimd\.toString\(\)\], \{ type: 'text\/javascript' \}\));/;

module.exports = function tfjsThreadsLoader(source) {
  if (!BLOB.test(source)) {
    throw new Error('tfjs-threads-loader: backend_wasm.js no longer builds mainScriptUrlOrBlob as expected; check the TensorFlow.js version (4.22 was patched)');
  }
  return source.replace(BLOB, 'factoryConfig.mainScriptUrlOrBlob = globalThis.CHESTAID_TFJS_THREADED_SCRIPT_URL || $1;');
};
