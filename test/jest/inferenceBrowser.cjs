// jest's stand-in for extension/src/inference/browser.ts and choiceBrowser.ts, whose `new URL(..., import.meta.url)` is
// for the bundler. Tests that import the extension's entry (the mode's, which take their ids from
// it) never start an inference worker; one that tried would fail here, saying so.
const refuse = () => {
  throw new Error('no inference Web Worker under jest: pass a fake client');
};
module.exports = { createInferenceWorker: refuse, createInferenceClient: refuse, createChoosingClient: refuse };
