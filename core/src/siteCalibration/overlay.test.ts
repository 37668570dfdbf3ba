import { calibrate } from '../calibration';
import { applyOverlay, calibrationLabel, calibrationOrigin, nextSiteVersion, parseOverlay } from './overlay';
import { ManifestError } from '../errors';
import { DEMO_SHA, demoManifest, overlayJson } from '../testing/overlays';

describe('parseOverlay', () => {
  it('accepts a valid overlay for the model in use and freezes a copy', () => {
    const json = overlayJson();
    const overlay = parseOverlay(json, { modelSha256: DEMO_SHA.toUpperCase() });
    expect(overlay.version).toBe('site-1');
    expect(Object.isFrozen(overlay.calibration.params)).toBe(true);
    expect(Object.isFrozen(json)).toBe(false);
  });

  it('refuses an overlay made for other model bytes, naming both hashes', () => {
    const other = 'b'.repeat(64);
    expect(() => parseOverlay(overlayJson({ model: { id: 'chestaid-demo', sha256: other } }), { modelSha256: DEMO_SHA })).toThrow(
      `calibration overlay "site-1" is for model sha256 ${other}, not the model in use (${DEMO_SHA}); refusing to apply it`,
    );
  });

  it('refuses an unknown schema major by its version', () => {
    expect(() => parseOverlay(overlayJson({ overlay_schema_version: '2.0.0' }))).toThrow(
      'calibration overlay schema version 2.0.0 is not supported by this viewer (supports 1.x)',
    );
  });

  it('names the schema violation', () => {
    const json = overlayJson();
    (json.threshold as Record<string, unknown>).value = 1.5;
    expect(() => parseOverlay(json)).toThrow(/\/threshold\/value must be <= 1/);
    expect(() => parseOverlay(overlayJson({ extra: 1 }))).toThrow(/must NOT have additional properties \("extra"\)/);
    expect(() => parseOverlay([])).toThrow('calibration overlay must be a JSON object, got an array');
  });

  it.each([
    [{ method: 'platt', params: { a: 1 } }, '/calibration/params lacks "b" for method "platt"'],
    [{ method: 'temperature', params: { temperature: -1 } }, 'temperature -1 must be finite and > 0'],
    [{ method: 'temperature', params: { temperature: 1, a: 2 } }, '/calibration/params has "a", which method "temperature" does not take'],
    [{ method: 'isotonic', params: { x: [0, -1], y: [0.1, 0.2] } }, 'isotonic x[1] = -1 is not greater than x[0] = 0'],
    [{ method: 'isotonic', params: { x: [0, 1], y: [0.3, 0.2] } }, 'isotonic y[1] = 0.2 is below y[0] = 0.3'],
  ])('refuses calibration parameters the calibrators cannot use: %j', (change, message) => {
    const json = overlayJson();
    json.calibration = { ...(json.calibration as object), ...change };
    expect(() => parseOverlay(json)).toThrow(message);
  });

  it('refuses a base-like version, a version equal to its predecessor, and swapped interval ends', () => {
    expect(() => parseOverlay(overlayJson({ version: '2' }))).toThrow('/version "2" is not a site version (site-1, site-2, ...)');
    expect(() => parseOverlay(overlayJson({ previous_version: 'site-1' }))).toThrow('/previous_version "site-1" is the overlay\'s own version');
    const json = overlayJson();
    (json.threshold as { interval: Record<string, number> }).interval.ci_low = 0.8;
    expect(() => parseOverlay(json)).toThrow('/threshold/interval ci_low 0.8 is above ci_high 0.7');
  });

  it('refuses a cohort with more positives than cases', () => {
    expect(() => parseOverlay(overlayJson({ cohort: { n: 10, n_pos: 11, sha256: 'a'.repeat(64), source: 'csv' } }))).toThrow(
      '/cohort n_pos 11 exceeds n 10',
    );
  });
});

describe('applyOverlay', () => {
  const manifest = demoManifest();

  it("replaces the calibration and the clinical threshold, and nothing else", () => {
    const applied = applyOverlay(manifest, parseOverlay(overlayJson()));
    expect(applied.calibration.version).toBe('site-1');
    expect(applied.calibration.selected).toBe('platt');
    expect(applied.calibration.methods.platt.params).toEqual({ a: 0.8, b: -0.4 });
    expect(applied.thresholds.clinical).toMatchObject({ value: 0.62, target_sensitivity: 0.9, split: 'site cohort' });
    expect(applied.onnx).toEqual(manifest.onnx);
    expect(applied.input).toEqual(manifest.input);
    expect(applied.metrics).toEqual(manifest.metrics);
    // The score the viewer computes now follows the site's parameters.
    expect(calibrate(2, applied.calibration)).toBeCloseTo(1 / (1 + Math.exp(-(0.8 * 2 - 0.4))), 12);
  });

  it('applies the clip the site fitted, and refuses a clip outside (0, 1) or upside down', () => {
    const clip = { low: 1 / 202, high: 1 - 1 / 202 };
    const withClip = (params: object) =>
      overlayJson({ overlay_schema_version: '1.1.0', calibration: { ...(overlayJson().calibration as object), params } });
    const applied = applyOverlay(manifest, parseOverlay(withClip({ a: 0.8, b: -0.4, clip })));
    expect(applied.calibration.methods.platt.params).toEqual({ a: 0.8, b: -0.4, clip });
    // sigmoid(0.8 * 20 - 0.4) is above 1 - 1/202: the score is held at the fitted clip, not left at ~1.
    expect(calibrate(20, applied.calibration)).toBe(clip.high);
    expect(calibrate(-20, applied.calibration)).toBe(clip.low);
    expect(calibrate(0, applied.calibration)).toBeCloseTo(1 / (1 + Math.exp(0.4)), 12);
    expect(() => parseOverlay(withClip({ a: 0.8, b: -0.4, clip: { low: 0.9, high: 0.1 } }))).toThrow('platt clip [0.9, 0.1] must satisfy 0 < low < high < 1');
    expect(() => parseOverlay(withClip({ a: 0.8, b: -0.4, clip: { low: 0, high: 0.9 } }))).toThrow('does not match its schema');
    expect(() => parseOverlay(withClip({ a: 0.8, b: -0.4, clip: { low: 0.1 } }))).toThrow('does not match its schema');
  });

  it('leaves its arguments untouched and returns a frozen manifest', () => {
    const overlay = parseOverlay(overlayJson());
    const before = JSON.stringify(manifest);
    const applied = applyOverlay(manifest, overlay);
    expect(JSON.stringify(manifest)).toBe(before);
    expect(Object.isFrozen(applied.thresholds.clinical)).toBe(true);
  });

  it('refuses an overlay of other model bytes and one that reuses the base version', () => {
    const other = parseOverlay(overlayJson({ model: { id: 'chestaid-demo', sha256: 'c'.repeat(64) } }));
    expect(() => applyOverlay(manifest, other)).toThrow(ManifestError);
    expect(() => applyOverlay(manifest, other)).toThrow(`is for model sha256 ${'c'.repeat(64)}, not this manifest's ${DEMO_SHA}`);
  });

  it('carries the provenance the viewer shows next to a score', () => {
    const applied = applyOverlay(manifest, parseOverlay(overlayJson()));
    expect(calibrationLabel(calibrationOrigin(applied))).toBe('calibration site-1 (site, 2026-11-26)');
    expect(calibrationLabel(calibrationOrigin(manifest))).toBe(`calibration v1 (training, ${manifest.model.created.slice(0, 10)})`);
  });
});

describe('nextSiteVersion', () => {
  it('counts up from the highest site version used, ignoring the base', () => {
    expect(nextSiteVersion(['1'])).toBe('site-1');
    expect(nextSiteVersion(['1', 'site-1', 'site-3', 'site-2'])).toBe('site-4');
  });
});
