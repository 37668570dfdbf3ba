import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseManifest } from './manifest';
import { manifestRefusal } from './testing/manifestRefusal';

// The committed demo manifest, whatever numbers its latest training run wrote.
const MANIFEST_PATH = resolve(__dirname, '../../models/chestaid-demo/manifest.json');

type Json = Record<string, unknown>;

function demo(): Json {
  return JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as Json;
}

/** The demo manifest with the value at a dotted path replaced (undefined: removed). */
function demoWith(...edits: [path: string, value: unknown][]): Json {
  const json = demo();
  for (const [path, value] of edits) {
    const keys = path.split('.');
    let node = json;
    for (const key of keys.slice(0, -1)) node = node[key] as Json;
    const last = keys[keys.length - 1];
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  return json;
}

const refusal = manifestRefusal;

describe('parseManifest', () => {
  it('accepts the demo manifest and exposes what the viewer reads', () => {
    const m = parseManifest(demo());
    expect(m.schema_version).toMatch(/^1\./);
    expect(m.input.size.height).toBeGreaterThan(0);
    expect(m.input.normalization.mean).toHaveLength(3);
    expect(m.input.grey.accepted_modalities).toEqual(expect.arrayContaining(['CR']));
    expect(['temperature', 'platt', 'isotonic']).toContain(m.calibration.selected);
    expect(m.thresholds.clinical.value).toBeGreaterThanOrEqual(0);
  });

  it('returns a frozen copy and leaves its argument untouched', () => {
    const json = demo();
    const before = JSON.stringify(json);
    const m = parseManifest(json);
    expect(Object.isFrozen(m.calibration.methods.isotonic.params.x)).toBe(true);
    expect(m).not.toBe(json);
    expect(JSON.stringify(json)).toBe(before);
  });

  it('accepts a newer minor version of schema 1', () => {
    expect(parseManifest({ ...demo(), schema_version: '1.7.2' }).schema_version).toBe('1.7.2');
  });

  it('accepts the patient-id overlap of the Kaggle folders (schema 1.1) and names a bad count', () => {
    const overlap = { train_and_val: 3, train_val_and_test: 120 };
    const m = parseManifest(demoWith(['schema_version', '1.1.0'], ['data.official_id_overlap', overlap]));
    expect(m.schema_version).toBe('1.1.0');
    const bad = demoWith(['data.official_id_overlap', { ...overlap, train_val_and_test: -1 }]);
    expect(refusal(bad)).toMatch(/\/data\/official_id_overlap\/train_val_and_test must be >= 0/);
  });

  it('refuses another schema major by its version, before checking any field', () => {
    expect(refusal({ schema_version: '2.0.0', whatever: true })).toBe(
      'model manifest schema version 2.0.0 is not supported by this viewer (supports 1.x)',
    );
  });

  it('refuses a schema violation naming where it is', () => {
    const json = demoWith(['calibration.methods.temperature.params.temperature', -1]);
    expect(refusal(json)).toMatch(/\/calibration\/methods\/temperature\/params\/temperature must be > 0/);
  });

  it('names an unexpected top-level property and a missing required one', () => {
    const message = refusal(demoWith(['extra', 1], ['intended_use', undefined]));
    expect(message).toMatch(/\(root\) must NOT have additional properties \("extra"\)/);
    expect(message).toMatch(/\(root\) must have required property 'intended_use'/);
  });

  it('refuses a modality list that is not an array of strings', () => {
    const json = demoWith(['input.grey.accepted_modalities', 'CR']);
    expect(refusal(json)).toMatch(/\/input\/grey\/accepted_modalities must be array/);
  });

  it('refuses isotonic knots that are not increasing, which the schema cannot state', () => {
    const json = demoWith(['calibration.methods.isotonic.params', { x: [0, 0], y: [0.2, 0.4] }]);
    expect(refusal(json)).toMatch(/isotonic x\[1\] = 0 is not greater than x\[0\] = 0/);
  });

  it('refuses something that is not an object', () => {
    expect(refusal([1, 2])).toMatch(/must be a JSON object, got an array/);
    expect(refusal('manifest')).toMatch(/must be a JSON object, got "manifest"/);
  });
});
