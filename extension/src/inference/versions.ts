/**
 * The engine versions the viewer ships (package.json pins both; versions.test.ts checks these
 * against the installed packages). They are part of the engine record's key (engineChoice.ts):
 * a new release of either is measured again. Constants rather than package.json imports: neither
 * package exports its package.json, and the page's bundle must not pull TensorFlow.js in to ask.
 */
export const ENGINE_VERSIONS = Object.freeze({ onnxruntime: '1.31.1', tfjs: '4.22.0' });
