/**
 * The Cornerstone adapter with a fake `window.cornerstone`: attributes from the metadata modules,
 * the loader's own pixel array, and pre-scaled pixels (Cornerstone's DICOM image loader applies
 * RescaleSlope/RescaleIntercept while decoding) undone rather than rescaled twice. The last test
 * runs a demo study that has a rescale through the pre-scaled path and the real demo model
 * (onnxruntime-node) and finds index.json's probability.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { analyze, InputError, parseManifest, toUnitGrey, type Classifier } from '@chestaid/core';
import { readImagePixels, sopInstanceUIDOf, type CornerstoneImageLike, type CornerstoneLike } from './cornerstonePixels';

const REPO = resolve(__dirname, '../../..');
const IMAGE_ID = 'dicomweb:/chestaid/demo/dicom/study-05.dcm';

type Modules = Record<string, Record<string, unknown> | undefined>;

function modules(overrides: Modules = {}): Modules {
  return {
    imagePixelModule: {
      samplesPerPixel: 1,
      photometricInterpretation: 'MONOCHROME2',
      rows: 2,
      columns: 2,
      bitsAllocated: 16,
      bitsStored: 12,
      highBit: 11,
      pixelRepresentation: 0,
    },
    modalityLutModule: { rescaleSlope: 2, rescaleIntercept: -1024, rescaleType: 'US' },
    voiLutModule: { windowCenter: [3071.5], windowWidth: [8191], voiLUTFunction: ['LINEAR'] },
    generalSeriesModule: { modality: 'CR' },
    sopCommonModule: { sopInstanceUID: '2.25.5' },
    ...overrides,
  };
}

function fakeCornerstone(image: CornerstoneImageLike | undefined, meta: Modules = modules(), loaded?: () => Promise<CornerstoneImageLike>) {
  const loads: string[] = [];
  const cornerstone: CornerstoneLike = {
    cache: { getImage: () => image },
    imageLoader: {
      loadAndCacheImage: async imageId => {
        loads.push(imageId);
        if (!loaded) throw new Error('not in the fake');
        return loaded();
      },
    },
    metaData: { get: type => meta[type] },
  };
  return { cornerstone, loads };
}

const stored = new Uint16Array([0, 612, 1000, 4095]);
const preScaled = Int16Array.from(stored, v => v * 2 - 1024);

describe('readImagePixels', () => {
  it('reads the attributes toUnitGrey needs from the metadata modules', async () => {
    const { cornerstone } = fakeCornerstone({ getPixelData: () => stored });
    const read = await readImagePixels(cornerstone, IMAGE_ID);
    expect(read.sopInstanceUID).toBe('2.25.5');
    expect(read.attributes).toEqual({
      rows: 2,
      columns: 2,
      samplesPerPixel: 1,
      photometricInterpretation: 'MONOCHROME2',
      bitsAllocated: 16,
      bitsStored: 12,
      pixelRepresentation: 0,
      rescaleSlope: 2,
      rescaleIntercept: -1024,
      windowCenter: [3071.5],
      windowWidth: [8191],
      voiLutFunction: 'LINEAR',
      numberOfFrames: undefined,
      modality: 'CR',
      hasModalityLutSequence: false,
      hasVoiLutSequence: false,
      modalityLutApplied: false,
      highBit: 11,
      pixelPaddingValue: undefined,
      pixelPaddingRangeLimit: undefined,
      viewPosition: undefined,
      bodyPartExamined: undefined,
      presentationIntentType: undefined,
      patientAge: undefined,
      patientBirthDate: undefined,
      studyDate: undefined,
    });
  });

  it('reads what the intended-use gate needs from OHIF\'s naturalised instance', async () => {
    const instance = {
      ViewPosition: 'LL',
      BodyPartExamined: ['CSPINE'],
      PresentationIntentType: 'FOR PROCESSING',
      PatientAge: '006M',
      PatientBirthDate: '20250701',
      StudyDate: '20260101',
      PixelPaddingValue: 4095,
      PixelPaddingRangeLimit: [4000],
    };
    const { cornerstone } = fakeCornerstone({ getPixelData: () => stored }, modules({ instance }));
    expect((await readImagePixels(cornerstone, IMAGE_ID)).attributes).toMatchObject({
      viewPosition: 'LL',
      bodyPartExamined: 'CSPINE',
      presentationIntentType: 'FOR PROCESSING',
      patientAge: '006M',
      patientBirthDate: '20250701',
      studyDate: '20260101',
      pixelPaddingValue: 4095,
      pixelPaddingRangeLimit: 4000,
    });
  });

  it('hands over the loader\'s own array, not a copy', async () => {
    const { cornerstone } = fakeCornerstone({ getPixelData: () => preScaled, preScale: { scaled: true, scalingParameters: { rescaleSlope: 2, rescaleIntercept: -1024 } } });
    expect((await readImagePixels(cornerstone, IMAGE_ID)).pixels).toBe(preScaled);
  });

  it('marks pre-scaled pixels so that the core undoes the rescale instead of applying it twice', async () => {
    const plain = await readImagePixels(fakeCornerstone({ getPixelData: () => stored }).cornerstone, IMAGE_ID);
    const scaled = await readImagePixels(
      fakeCornerstone({
        getPixelData: () => preScaled,
        preScale: { enabled: true, scaled: true, scalingParameters: { rescaleSlope: 2, rescaleIntercept: -1024 } } as CornerstoneImageLike['preScale'],
      }).cornerstone,
      IMAGE_ID,
    );
    expect(scaled.attributes.modalityLutApplied).toBe(true);
    const fromStored = toUnitGrey(plain.attributes, plain.pixels).data;
    expect(toUnitGrey(scaled.attributes, scaled.pixels).data).toEqual(fromStored);
    // What rescaling twice would have given: visibly different.
    expect(toUnitGrey({ ...scaled.attributes, modalityLutApplied: false }, Uint16Array.from(preScaled.map(v => Math.max(0, v)))).data).not.toEqual(fromStored);
  });

  it('treats pixels the loader only flagged as scalable (scaled false) as stored values', async () => {
    const { cornerstone } = fakeCornerstone({ getPixelData: () => stored, preScale: { scaled: false } });
    expect((await readImagePixels(cornerstone, IMAGE_ID)).attributes.modalityLutApplied).toBe(false);
  });

  it('refuses pixels scaled with other parameters than the header\'s, naming both', async () => {
    const { cornerstone } = fakeCornerstone({
      getPixelData: () => preScaled,
      preScale: { scaled: true, scalingParameters: { rescaleSlope: 1, rescaleIntercept: -1024 } },
    });
    await expect(readImagePixels(cornerstone, IMAGE_ID)).rejects.toThrow(
      /decoded with RescaleSlope 1 and RescaleIntercept -1024, but its header says 2 and -1024/,
    );
  });

  it('loads the image into the cache when it is not there', async () => {
    const { cornerstone, loads } = fakeCornerstone(undefined, modules(), async () => ({ getPixelData: () => stored }));
    expect((await readImagePixels(cornerstone, IMAGE_ID)).pixels).toBe(stored);
    expect(loads).toEqual([IMAGE_ID]);
  });

  it('reports a load failure (Cornerstone rejects with plain objects) as an InputError', async () => {
    const { cornerstone } = fakeCornerstone(undefined, modules(), () => Promise.reject({ error: new Error('404 Not Found') }));
    const error = await readImagePixels(cornerstone, IMAGE_ID).catch(e => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`the image ${IMAGE_ID} could not be loaded: 404 Not Found`);
  });

  it.each([
    ['the request itself, unanswered', { readyState: 4, status: 0, statusText: '' }, 'the request got no answer (network error or blocked)'],
    ['the request itself, answered', { readyState: 4, status: 503, statusText: 'Service Unavailable' }, 'the server answered 503 Service Unavailable'],
    ['an object holding the request', { request: { readyState: 4, status: 404, statusText: '' } }, 'the server answered 404'],
  ])('says why a fetch failed when Cornerstone rejects with %s', async (_name, rejection, reason) => {
    const { cornerstone } = fakeCornerstone(undefined, modules(), () => Promise.reject(rejection));
    const error = await readImagePixels(cornerstone, IMAGE_ID).catch(e => e);
    expect(error.message).toBe(`the image ${IMAGE_ID} could not be loaded: ${reason}`);
  });

  it.each<[string, CornerstoneImageLike, Modules, RegExp]>([
    ['no pixel data', { getPixelData: () => undefined }, modules(), /has no pixel data/],
    ['pixels that are no typed array', { getPixelData: () => [1, 2, 3, 4] }, modules(), /holds its pixels as Array/],
    ['no image pixel module', { getPixelData: () => stored }, modules({ imagePixelModule: undefined }), /no image pixel module/],
    ['no SOPInstanceUID', { getPixelData: () => stored }, modules({ sopCommonModule: {} }), /has no SOPInstanceUID/],
  ])('refuses an image with %s', async (_name, image, meta, message) => {
    const error = await readImagePixels(fakeCornerstone(image, meta).cornerstone, IMAGE_ID).catch(e => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(message);
  });

  it('passes on what the core must refuse: RGB, multi-frame, LUT sequences', async () => {
    const meta = modules({
      imagePixelModule: { ...modules().imagePixelModule, photometricInterpretation: 'RGB', samplesPerPixel: 3 },
      multiframeModule: { NumberOfFrames: 4 },
      modalityLutModule: { modalityLUTSequence: [{}] },
      voiLutModule: { voiLUTSequence: [{}], voiLUTFunction: 'SIGMOID' },
    });
    const { attributes } = await readImagePixels(fakeCornerstone({ getPixelData: () => stored }, meta).cornerstone, IMAGE_ID);
    expect(attributes).toMatchObject({
      photometricInterpretation: 'RGB',
      samplesPerPixel: 3,
      numberOfFrames: 4,
      hasModalityLutSequence: true,
      hasVoiLutSequence: true,
      voiLutFunction: 'SIGMOID',
    });
    expect(() => toUnitGrey(attributes, stored)).toThrow(/PhotometricInterpretation "RGB"/);
  });

  it('names the instance of an image from the metadata', () => {
    expect(sopInstanceUIDOf(fakeCornerstone(undefined).cornerstone, IMAGE_ID)).toBe('2.25.5');
    expect(sopInstanceUIDOf(fakeCornerstone(undefined, {}).cornerstone, IMAGE_ID)).toBeUndefined();
  });
});

// --- The demo study with a rescale, end to end on the real model ---------------------------------

interface Dcmjs {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer): { dict: unknown } };
    DicomMetaDictionary: { naturalizeDataset(dict: unknown): Record<string, unknown> };
  };
}
/**
 * The demo model on onnxruntime-node, in a child process: inside jest's sandbox the native
 * binding's Float32Arrays belong to another realm and ORT's own instanceof checks reject them.
 */
function nodeClassifier(modelPath: string, names: { input: string; logit: string; cam: string }): Classifier {
  const script = `
    const ort = require('onnxruntime-node');
    const chunks = [];
    process.stdin.on('data', c => chunks.push(c)).on('end', async () => {
      const bytes = Buffer.concat(chunks);
      const input = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      const { model, names, dims } = JSON.parse(process.argv[1]);
      const session = await ort.InferenceSession.create(model);
      const out = await session.run({ [names.input]: new ort.Tensor('float32', input, dims) });
      const cam = out[names.cam];
      process.stdout.write(JSON.stringify({ logit: out[names.logit].data[0], cam: Array.from(cam.data), camDims: cam.dims.slice(1) }));
    });`;
  return {
    async run(input, dims) {
      const args = JSON.stringify({ model: modelPath, names, dims });
      const stdout = execFileSync(process.execPath, ['-e', script, args], { cwd: REPO, input: Buffer.from(input.buffer, input.byteOffset, input.byteLength) });
      const out = JSON.parse(stdout.toString()) as { logit: number; cam: number[]; camDims: [number, number] };
      return { logit: out.logit, cam: Float32Array.from(out.cam), camDims: out.camDims };
    },
  };
}

interface DemoStudy {
  name: string;
  file: string;
  rescale: [number, number];
  expected: { logit: number; probability: number };
}

/** A study as Cornerstone's loader holds it: header modules, and stored * slope + intercept pixels. */
function asCornerstoneLoads(study: DemoStudy): CornerstoneLike {
  const dcmjs: Dcmjs = require('dcmjs');
  const bytes = readFileSync(resolve(REPO, 'test/demo-studies', study.file));
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(
    dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)).dict,
  );
  const raw = new Uint16Array((ds.PixelData as ArrayBuffer[])[0]);
  const slope = Number(ds.RescaleSlope);
  const intercept = Number(ds.RescaleIntercept);
  // The loader's choice of array for the scaled range (Int16 here), then scaleArray.
  const pixels = Int16Array.from(raw, v => v * slope + intercept);
  const list = (v: unknown) => (Array.isArray(v) ? v.map(Number) : [Number(v)]);
  const meta: Modules = {
    imagePixelModule: {
      samplesPerPixel: ds.SamplesPerPixel,
      photometricInterpretation: ds.PhotometricInterpretation,
      rows: ds.Rows,
      columns: ds.Columns,
      bitsAllocated: ds.BitsAllocated,
      bitsStored: ds.BitsStored,
      pixelRepresentation: ds.PixelRepresentation,
    },
    modalityLutModule: { rescaleSlope: slope, rescaleIntercept: intercept },
    voiLutModule: { windowCenter: list(ds.WindowCenter), windowWidth: list(ds.WindowWidth), voiLUTFunction: [ds.VOILUTFunction ?? 'LINEAR'] },
    generalSeriesModule: { modality: ds.Modality },
    sopCommonModule: { sopInstanceUID: ds.SOPInstanceUID },
  };
  return fakeCornerstone(
    { getPixelData: () => pixels, preScale: { scaled: true, scalingParameters: { rescaleSlope: slope, rescaleIntercept: intercept } } },
    meta,
  ).cornerstone;
}

describe('a demo study with a rescale, pre-scaled as Cornerstone loads it', () => {
  const index = JSON.parse(readFileSync(resolve(REPO, 'test/demo-studies/index.json'), 'utf8')) as { studies: DemoStudy[] };
  const study = index.studies.find(s => s.rescale[0] !== 1 || s.rescale[1] !== 0);

  it('exists in index.json', () => {
    expect(study).toBeDefined();
  });

  it('scores index.json\'s probability and logit within 1e-3 on the demo model (onnxruntime-node)', async () => {
    const demo = study as DemoStudy;
    const manifest = parseManifest(JSON.parse(readFileSync(resolve(REPO, 'models/chestaid-demo/manifest.json'), 'utf8')));
    const classifier = nodeClassifier(resolve(REPO, 'models/chestaid-demo', manifest.onnx.file), {
      input: manifest.input.name,
      logit: manifest.outputs.logit.name,
      cam: manifest.outputs.cam.name,
    });
    const image = await readImagePixels(asCornerstoneLoads(demo), IMAGE_ID);
    expect(image.attributes.modalityLutApplied).toBe(true);
    const result = await analyze(image.attributes, image.pixels, manifest, classifier);
    expect(Math.abs(result.probability - demo.expected.probability)).toBeLessThanOrEqual(1e-3);
    // The logit too: a near-constant demo model can put every image within 1e-3 in probability.
    expect(Math.abs(result.logit - demo.expected.logit)).toBeLessThanOrEqual(1e-3);
  }, 30_000);
});
