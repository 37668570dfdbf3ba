/**
 * What an engine's worker downloads before its first result: the files the test server sent
 * while that worker alone was starting (server.mjs counts them), grouped as the model, the
 * runtime's WebAssembly and JavaScript (the worker chunk and any loader). The page's own bundle
 * is not in it (loaded before), nor the HTTP cache (the test server sends no-store).
 */
export function downloadOf(served, reason) {
  const sum = test => served.filter(f => test(f.path)).reduce((a, f) => a + f.bytes, 0);
  const isModel = path => path.startsWith('/models/');
  const isWasm = path => path.endsWith('.wasm');
  return {
    reason,
    model: sum(isModel),
    wasm: sum(path => !isModel(path) && isWasm(path)),
    js: sum(path => !isModel(path) && !isWasm(path)),
    total: sum(() => true),
    files: served.map(f => `${f.path} ${f.bytes}`),
  };
}
