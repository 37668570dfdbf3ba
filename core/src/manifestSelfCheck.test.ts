import { manifestForVariant, parseManifest } from './manifest';
import { demoManifestJson } from './testing/overlays';
import { manifestRefusal } from './testing/manifestRefusal';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const refusal = manifestRefusal;

describe('parseManifest of self_check blocks (schema 1.6.0)', () => {
  it('reads the demo manifest block of every ONNX file: logit and the 7x7 raw CAM on the probe', () => {
    const manifest = parseManifest(demoManifestJson());
    for (const file of [manifest.onnx, ...(manifest.onnx.variants ?? [])]) {
      expect(file.self_check?.probe).toBe('chestaid-probe/1');
      expect(file.self_check?.cam.shape).toEqual([7, 7]);
      expect(file.self_check?.cam.data).toHaveLength(49);
      expect(Number.isFinite(file.self_check?.logit)).toBe(true);
    }
  });

  it('keeps a manifest without blocks valid (schema 1.5.0 and older)', () => {
    const json = demoManifestJson() as Json;
    delete json.onnx.self_check;
    for (const v of json.onnx.variants) delete v.self_check;
    json.schema_version = '1.5.0';
    expect(parseManifest(json).onnx.self_check).toBeUndefined();
  });

  it('refuses a CAM whose values do not fill its shape, naming the file', () => {
    const json = demoManifestJson() as Json;
    json.onnx.variants[0].self_check.cam.data.pop();
    expect(refusal(json)).toMatch(/self_check of model\.fp16\.onnx is invalid: cam\.data holds 48 values, shape \[7,7\] needs 49/);
  });

  it.each([
    ['an unknown probe', (c: Json) => (c.probe = 'chestaid-probe/2'), /self_check\/probe/],
    ['a zero tolerance', (c: Json) => (c.tolerances.cam = 0), /self_check\/tolerances\/cam/],
    ['a missing logit', (c: Json) => delete c.logit, /self_check must have required property 'logit'/],
  ])('refuses %s by its path', (_what, spoil, message) => {
    const json = demoManifestJson() as Json;
    spoil(json.onnx.self_check);
    expect(refusal(json)).toMatch(message);
  });

  it("gives a variant's own block when the variant runs, never the main file's", () => {
    const manifest = parseManifest(demoManifestJson());
    const int8 = manifestForVariant(manifest, 'model.int8.onnx');
    expect(int8.onnx.self_check?.logit).toBe(manifest.onnx.variants?.find(v => v.file === 'model.int8.onnx')?.self_check?.logit);
    expect(int8.onnx.self_check?.logit).not.toBe(manifest.onnx.self_check?.logit);
  });
});
