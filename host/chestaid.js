// The bundle app-config.js imports at run time: ChestAid's extension and mode, one ES module.
export { default as extension } from '../extension/src/index';
export { default as mode } from '../mode/src/index';
