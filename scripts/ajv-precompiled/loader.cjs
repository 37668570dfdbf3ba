/**
 * A webpack loader that replaces ajv in the viewer's bundles with validators compiled at build time.
 *
 * ajv compiles a schema into JavaScript and runs it with `new Function`, which the viewer's CSP
 * forbids (no 'unsafe-eval': deploy/policy.cjs). @chestaid/core's schemaCheck() calls
 * `new Ajv(options).compile(schema)` on first use; in the browser builds `ajv` resolves to
 * ./ajv.js, which this loader turns into ajv's standalone code for ChestAid's schemas
 * (core/schema/*.schema.json) and a `compile` that hands back the precompiled validator for a
 * schema's $id. Same ajv, same options, same error objects: only when the code is generated moves.
 * Node (the worker, the CLI, jest) keeps the real ajv.
 */
const fs = require('node:fs');
const path = require('node:path');

const SCHEMA_DIR = path.join(__dirname, '../../core/schema');
// core/src/manifest.ts schemaCheck()'s options; test/packages/ajvPrecompiled.test.mjs compares
// the two on valid and invalid documents.
const OPTIONS = { allErrors: true, strictTypes: false };

function generate() {
  const { default: Ajv } = require('ajv');
  const { default: standaloneCode } = require('ajv/dist/standalone');
  const ajv = new Ajv({ ...OPTIONS, code: { source: true, esm: true } });
  const files = fs.readdirSync(SCHEMA_DIR).filter(name => name.endsWith('.schema.json')).sort();
  const exports = {};
  files.forEach((name, i) => {
    const schema = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, name), 'utf8'));
    if (typeof schema.$id !== 'string') throw new Error(`${name} has no $id: the precompiled validators are found by it`);
    ajv.addSchema(schema);
    exports[`schema${i}`] = schema.$id;
  });
  const code = standaloneCode(ajv, exports);
  const table = Object.entries(exports)
    .map(([name, id]) => `  ${JSON.stringify(id)}: ${name},`)
    .join('\n');
  return {
    files: files.map(name => path.join(SCHEMA_DIR, name)),
    source: `${code}

const PRECOMPILED = {
${table}
};

/** ajv's compile for the schemas precompiled at build time (scripts/ajv-precompiled/loader.cjs). */
export default class Ajv {
  compile(schema) {
    const validate = PRECOMPILED[schema && schema.$id];
    if (!validate) {
      throw new Error(\`the viewer's validators are compiled at build time (its CSP allows no eval); schema \${JSON.stringify(schema && schema.$id)} is not among them\`);
    }
    return validate;
  }
}
`,
  };
}

module.exports = function ajvPrecompiledLoader() {
  const { files, source } = generate();
  for (const file of files) this.addDependency(file);
  this.addContextDependency(SCHEMA_DIR);
  return source;
};
module.exports.generate = generate;
