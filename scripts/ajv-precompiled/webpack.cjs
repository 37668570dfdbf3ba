// The webpack settings that swap ajv for build-time validators (loader.cjs): `ajv` (exactly; not
// its runtime helpers) resolves to ajv.js, which the loader generates.
const path = require('node:path');

const SHIM = path.join(__dirname, 'ajv.js');

module.exports = {
  alias: { ajv$: SHIM },
  rule: { test: SHIM, use: path.join(__dirname, 'loader.cjs') },
};
