import { calibrate } from './calibration';
import { resultSrInputFrom } from './dicom/fromAnalysis';
import { crAttributes } from './testing/crAttributes';
import { demoManifestJson } from './testing/overlays';
import { manifestForVariant, parseManifest, type Manifest } from './manifest';
import { unverifiedReason, type ArchivedContent } from './dicomweb/verifyResult';
import { withCalibrationIdentity } from './siteCalibration/identity';
import { manifestRefusal } from './testing/manifestRefusal';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const INT8_SHA = 'ab'.repeat(32);
const FP16_SHA = 'cd'.repeat(32);

/** The demo manifest (its main file's calibration and threshold) with an fp16 and an int8 variant. */
function withVariants(int8: Json | null = {}): Json {
  const json = demoManifestJson() as Json;
  const own = {
    calibration: {
      ...json.calibration,
      selected: 'platt',
      methods: { ...json.calibration.methods, platt: { ...json.calibration.methods.platt, params: { a: 0.5, b: 3 } } },
    },
    thresholds: { clinical: { ...json.thresholds.clinical, value: 0.6 } },
    reference_distribution: { split: 'test', score: 'calibrated', bin_edges: [0, 0.5, 1], counts: [3, 4] },
  };
  const variants: Json[] = [{ file: 'model.fp16.onnx', sha256: FP16_SHA, bytes: 14, weights: 'float16' }];
  if (int8) {
    variants.push({
      file: 'model.int8.onnx', sha256: INT8_SHA, bytes: 7, weights: 'int8',
      quantization: { format: 'qdq' }, gates: { split: 'test', pass: true }, ...own, ...int8,
    });
  }
  json.onnx = { ...json.onnx, variants };
  json.schema_version = '1.5.0';
  return json;
}

const refusal = manifestRefusal;

describe('manifestForVariant', () => {
  const base = parseManifest(withVariants());

  it("puts an int8 variant's own calibration, threshold and sha256 in force", () => {
    const int8 = manifestForVariant(base, 'model.int8.onnx');
    expect(int8.onnx).toMatchObject({ file: 'model.int8.onnx', sha256: INT8_SHA, bytes: 7, weights: 'int8', opset: base.onnx.opset });
    expect(int8.calibration.selected).toBe('platt');
    expect(int8.thresholds.clinical.value).toBe(0.6);
    expect(int8.reference_distribution?.counts).toEqual([3, 4]);
    // A score of the int8 model is its own calibration of its logit, not the float model's.
    expect(calibrate(0.25, int8.calibration)).toBeCloseTo(1 / (1 + Math.exp(-(0.5 * 0.25 + 3))), 12);
    expect(calibrate(0.25, int8.calibration)).not.toBeCloseTo(calibrate(0.25, base.calibration), 3);
    expect(Object.isFrozen(int8.calibration)).toBe(true);
    expect(base.onnx.file).toBe('model.onnx');
    expect(base.thresholds.clinical.value).not.toBe(0.6);
  });

  it('gives the main file, and no file, the manifest itself', () => {
    expect(manifestForVariant(base, undefined)).toBe(base);
    expect(manifestForVariant(base, base.onnx.file)).toBe(base);
  });

  it('lets a float16 variant share the main calibration and threshold under its own sha256', () => {
    const fp16 = manifestForVariant(base, 'model.fp16.onnx');
    expect(fp16.onnx.sha256).toBe(FP16_SHA);
    expect(fp16.calibration).toEqual(base.calibration);
    expect(fp16.thresholds).toEqual(base.thresholds);
    expect(fp16.reference_distribution).toEqual(base.reference_distribution);
  });

  it("drops the main file's reference distribution for a variant calibrated without one", () => {
    const json = withVariants();
    delete json.onnx.variants[1].reference_distribution;
    expect(manifestForVariant(parseManifest(json), 'model.int8.onnx').reference_distribution).toBeUndefined();
  });

  it('names the files there are for an unknown one', () => {
    expect(() => manifestForVariant(base, 'model.int4.onnx')).toThrow(
      'model manifest lists no ONNX file "model.int4.onnx" (it has model.onnx, model.fp16.onnx, model.int8.onnx)',
    );
  });

  it('keys results on the variant that ran: the SR names its sha256, its threshold and its calibration', async () => {
    const int8 = await withCalibrationIdentity(manifestForVariant(base, 'model.int8.onnx'));
    const logit = 0.25;
    const probability = calibrate(logit, int8.calibration);
    const analysis = {
      modelId: int8.model.id, modelVersion: int8.model.version, logit, probability,
      calibrationMethod: int8.calibration.selected, calibrationVersion: int8.calibration.version,
      decision: { above: probability >= 0.6, threshold: 0.6 }, cam: { data: new Float32Array(49), width: 7, height: 7 },
    } as const;
    const source = crAttributes();
    const sr = resultSrInputFrom(analysis as never, int8, { source: source as never, observedAt: '2026-12-06T08:00:00Z' });
    expect(sr.model.sha256).toBe(INT8_SHA);
    expect(sr.threshold).toBe(0.6);
    expect(sr.calibration.version).toBe(int8.calibration.version);
    // The fp32 reader's identity of the same calibration name differs: an int8 score is never read as an fp32 one.
    const fp32 = await withCalibrationIdentity(base);
    expect(fp32.calibration.version).not.toBe(int8.calibration.version);
    const content: ArchivedContent = {
      source: { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4', sopInstanceUID: '1.2.3.4.5', sopClassUID: '1.2.840.10008.5.1.4.1.1.1' },
      score: probability, logit, threshold: 0.6, decision: probability >= 0.6 ? 'above' : 'below',
      calibration: { method: 'platt', version: int8.calibration.version },
      model: { id: int8.model.id, version: int8.model.version, sha256: INT8_SHA, deviceUID: String(int8.model.device_uid) },
      observedAt: '2026-12-06T08:00:00Z',
    };
    const fp32Reader = { modelSha256: base.onnx.sha256, deviceUID: String(base.model.device_uid), calibrationOf: () => fp32 as Manifest };
    expect(await unverifiedReason(content, '2.25.1', fp32Reader)).toMatch(/^made by model sha256 abababababab…, not the model loaded here/);
  });
});

describe('parseManifest of variants (schema 1.5.0)', () => {
  it('accepts variants with and without their own calibration', () => {
    expect(parseManifest(withVariants()).onnx.variants?.map(v => v.file)).toEqual(['model.fp16.onnx', 'model.int8.onnx']);
  });

  it('refuses an int8 variant that would borrow the main calibration', () => {
    const json = withVariants();
    delete json.onnx.variants[1].calibration;
    delete json.onnx.variants[1].thresholds;
    expect(refusal(json)).toMatch(/\/onnx\/variants\/1 must have required property 'calibration'/);
  });

  it('refuses a calibration without its threshold, and an int8 variant without its gates', () => {
    const json = withVariants();
    delete json.onnx.variants[1].thresholds;
    expect(refusal(json)).toMatch(/\/onnx\/variants\/1 must have property thresholds when property calibration is present/);
    expect(refusal(withVariants({ gates: { split: 'test', pass: false } }))).toMatch(/\/onnx\/variants\/1\/gates\/pass must be equal to constant/);
  });

  it("checks a variant's calibration as the main one's (isotonic knots)", () => {
    const json = demoManifestJson() as Json;
    const isotonic = json.calibration.methods.isotonic;
    const bad = { ...json.calibration, methods: { ...json.calibration.methods, isotonic: { ...isotonic, params: { ...isotonic.params, x: [...isotonic.params.x].reverse() } } } };
    expect(refusal(withVariants({ calibration: bad }))).toMatch(/^model manifest calibration of variant model\.int8\.onnx is invalid: /);
  });
});
