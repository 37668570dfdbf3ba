// The viewer's bundles validate manifests and calibration overlays with ajv's code generated at
// build time (scripts/ajv-precompiled), because the CSP allows no eval. Those validators must say
// what ajv itself says at run time, on valid and invalid documents alike.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(join(ROOT, 'package.json'));
const { generate } = require('./scripts/ajv-precompiled/loader.cjs');
const { default: Ajv } = require('ajv');

const manifestSchema = JSON.parse(readFileSync(join(ROOT, 'core/schema/manifest.schema.json'), 'utf8'));
const overlaySchema = JSON.parse(readFileSync(join(ROOT, 'core/schema/calibration-overlay.schema.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(join(ROOT, 'models/chestaid-demo/manifest.json'), 'utf8'));

let dir;
let Precompiled;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chestaid-ajv-'));
  // The generated module is what webpack bundles; here Node runs it, its requires resolved from the root.
  const file = join(dir, 'ajv.mjs');
  writeFileSync(file, `import { createRequire } from 'node:module';\nconst require = createRequire(${JSON.stringify(join(ROOT, 'package.json'))});\n${generate().source}`);
  ({ default: Precompiled } = await import(pathToFileURL(file).href));
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** The same document through ajv at run time (core's options) and through the precompiled validator. */
function both(schema, doc) {
  const runtime = new Ajv({ allErrors: true, strictTypes: false }).compile(schema);
  const precompiled = new Precompiled().compile(schema);
  return [
    { valid: runtime(doc), errors: runtime.errors ?? null },
    { valid: precompiled(doc), errors: precompiled.errors ?? null },
  ];
}

test('the precompiled manifest validator agrees with ajv on the demo manifest and on broken ones', () => {
  const broken = [
    manifest,
    { ...manifest, schema_version: 3 },
    { ...manifest, onnx: { ...manifest.onnx, sha256: 'not-a-hash' } },
    { ...manifest, unexpected: true },
    (({ model: _dropped, ...rest }) => rest)(manifest),
    { ...manifest, input: { ...manifest.input, shape: 'N,3,224,224' } },
  ];
  for (const doc of broken) {
    const [runtime, precompiled] = both(manifestSchema, doc);
    assert.deepEqual(precompiled, runtime);
  }
  assert.equal(both(manifestSchema, manifest)[1].valid, true);
  assert.equal(both(manifestSchema, broken[2])[1].valid, false);
});

test('the precompiled overlay validator agrees with ajv', () => {
  for (const doc of [{}, { overlay_schema_version: '1.0.0', model: { id: 'Bad Id', sha256: 'x' } }, []]) {
    const [runtime, precompiled] = both(overlaySchema, doc);
    assert.deepEqual(precompiled, runtime);
  }
});

test('a schema that was not precompiled is refused by name', () => {
  assert.throws(() => new Precompiled().compile({ $id: 'https://elsewhere.example/x.json' }), /"https:\/\/elsewhere\.example\/x\.json" is not among them/);
});
