import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { analyze, OUT_OF_DISTRIBUTION } from './analysis';
import { calibrate } from './calibration';
import type { Classifier, ClassifierOutput } from './classifier';
import { InputError } from './errors';
import { NotAnalyzedError } from './intendedUse';
import { parseManifest } from './manifest';
import type { PixelAttributes } from './pixels';
import type { TensorDims } from './preprocess';
import { readDicom } from './testing/dicomFile';

const demoManifest = parseManifest(
  JSON.parse(readFileSync(resolve(__dirname, '../../models/chestaid-demo/manifest.json'), 'utf8')),
);
/** The demo manifest without its input check: the ramp image below is no radiograph. */
const manifest = { ...demoManifest, input_check: undefined };

const ATTRS: PixelAttributes = {
  // The smallest matrix the intended-use gate lets through (intendedUse.test.ts).
  rows: 240,
  columns: 224,
  samplesPerPixel: 1,
  photometricInterpretation: 'MONOCHROME2',
  bitsAllocated: 16,
  bitsStored: 12,
  pixelRepresentation: 0,
  modality: 'DX',
};

/** Records what it was given and answers with a fixed logit and map. */
class FakeClassifier implements Classifier {
  calls: { input: Float32Array; dims: TensorDims }[] = [];
  constructor(private readonly output: ClassifierOutput) {}
  async run(input: Float32Array, dims: TensorDims): Promise<ClassifierOutput> {
    this.calls.push({ input: input.slice(), dims });
    return this.output;
  }
}

describe('analyze', () => {
  const pixels = Uint16Array.from({ length: 240 * 224 }, (_, i) => (i * 7) % 4096);

  it('feeds the classifier the manifest-sized tensor and calibrates, decides and normalises its output', async () => {
    const classifier = new FakeClassifier({ logit: 0.25, cam: Float32Array.from([0, 2, -1, 4]), camDims: [2, 2] });
    const result = await analyze(ATTRS, pixels, manifest, classifier);

    const { height, width } = manifest.input.size;
    expect(classifier.calls).toHaveLength(1);
    expect(classifier.calls[0].dims).toEqual([1, 3, height, width]);
    expect(classifier.calls[0].input).toHaveLength(3 * height * width);

    const p = calibrate(0.25, manifest.calibration);
    expect(result.probability).toBe(p);
    expect(result.calibrationMethod).toBe(manifest.calibration.selected);
    expect(result.calibrationVersion).toBe(manifest.calibration.version);
    expect(result.decision.above).toBe(p >= manifest.thresholds.clinical.value);
    expect(Array.from(result.cam.data)).toEqual([0, 0.5, 0, 1]);
    expect(result.modelId).toBe(manifest.model.id);
  });

  it('refuses a CT image before running the model', async () => {
    const classifier = new FakeClassifier({ logit: 0, cam: new Float32Array(4), camDims: [2, 2] });
    await expect(analyze({ ...ATTRS, modality: 'CT' }, pixels, manifest, classifier)).rejects.toThrow(
      /this image is CT/,
    );
    expect(classifier.calls).toHaveLength(0);
  });

  it('refuses an image unlike the training images (the input check) before running the model', async () => {
    const classifier = new FakeClassifier({ logit: 0, cam: new Float32Array(4), camDims: [2, 2] });
    const refused = analyze(ATTRS, pixels, demoManifest, classifier);
    await expect(refused).rejects.toThrow(NotAnalyzedError);
    await expect(refused).rejects.toMatchObject({ refusal: { code: OUT_OF_DISTRIBUTION } });
    await expect(refused).rejects.toThrow(/outside what this model was trained on/);
    expect(classifier.calls).toHaveLength(0);
  });

  it('analyzes a demo study darkened as another site could expose it (grey levels x0.6), input check on', async () => {
    // The recalibration tests' shifted cohort darkens its images the same way; the input check
    // must keep such a site's studies, or site recalibration could never score one.
    const { attributes, pixels: stored } = readDicom(
      readFileSync(resolve(__dirname, '../../test/demo-studies/dicom/study-01.dcm')),
    );
    expect(attributes.photometricInterpretation).toBe('MONOCHROME2');
    const darkened = Uint16Array.from(stored, (v) => Math.floor(v * 0.6 + 0.5));
    const classifier = new FakeClassifier({ logit: 0.5, cam: new Float32Array(4), camDims: [2, 2] });
    const result = await analyze(attributes, darkened, demoManifest, classifier);
    expect(classifier.calls).toHaveLength(1);
    expect(result.probability).toBe(calibrate(0.5, demoManifest.calibration));
  });

  it('refuses a classifier whose CAM does not match its dims', async () => {
    const classifier = new FakeClassifier({ logit: 0, cam: new Float32Array(5), camDims: [2, 2] });
    await expect(analyze(ATTRS, pixels, manifest, classifier)).rejects.toThrow(InputError);
  });
});
