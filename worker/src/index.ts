/**
 * @chestaid/worker: the headless triage worker (`main` runs its command line) and the Node model
 * and DICOM readers the recalibration CLI shares with it.
 */
export { main, runCli } from './cli';
export { feederMain, runFeeder } from './queue/feederCli';
export { loadModel, readManifest, OrtNodeClassifier, ModelError, type LoadedModel, type LoadOptions } from './model';
export { decodePart10, readPart10, NATIVE_TRANSFER_SYNTAXES, type Part10Image } from './part10';
export { DECODED_TRANSFER_SYNTAXES } from './decompress';
