#!/usr/bin/env node
// Builds the study list the viewer opens with: an OHIF "DICOM JSON" document
// (studies -> series -> instances, each instance its naturalized DICOM header and a `dicomweb:`
// URL of its Part 10 file) from the committed demo studies in test/demo-studies/. The ground truth
// in index.json never goes into the document: the viewer sees only the DICOM.
//
// It also derives two SYNTHETIC studies, every descriptive field saying so:
// - a two-radiograph study (the first PNEUMONIA and the first NORMAL demo images under new UIDs, one
//   series each), for reading a study with several images ("Analyze all images");
// - a CT from the first demo radiograph (Modality and SOP Class rewritten, new UIDs), the "not CR/DX"
//   case the ChestAid mode must refuse.
// Output (ignored by git) is deterministic, so re-running changes nothing.
//
// On request it also writes two SYNTHETIC radiographs of detector size, the first PNEUMONIA demo
// image resampled to 2048 x 2500 (spacing scaled to keep its physical size: anisotropic) and to
// 3000 x 2500 (no pixel spacing: Cornerstone lays it out at 1 mm). The demo studies are about 300
// px a side, below the heatmap layer's 512 px cap; these take the capped path (test/e2e/heatmap).
// They are listed only under CHESTAID_EXTRA_STUDIES=large, so the default list is unchanged.
//
//   node scripts/make-demo-studies.mjs            writes build/demo/
//   node scripts/make-demo-studies.mjs --large    also writes build/demo/large/dicom/ (about 25 MB);
//                                                 CHESTAID_EXTRA_STUDIES=large npm start lists them
//   node scripts/make-demo-studies.mjs --prior    also writes build/demo/prior/dicom/: one synthetic patient's
//                                                 prior (NORMAL pixels, 2026-03-05) and current (PNEUMONIA
//                                                 pixels, 2026-11-04) chest studies; CHESTAID_EXTRA_STUDIES=prior
//                                                 npm start lists them
//   node scripts/make-demo-studies.mjs --refused  also writes build/demo/refused/dicom/: a lateral view,
//                                                 a FOR PROCESSING DX and an infant's study, which the
//                                                 model card excludes; CHESTAID_EXTRA_STUDIES=refused
//                                                 npm start lists them
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import dcmjs from 'dcmjs';

const { DicomMessage, DicomMetaDictionary, DicomDict } = dcmjs.data;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the files live on disk and where the dev server serves them (webpack.config.js). */
export const DEMO = Object.freeze({
  sourceDir: join(root, 'test', 'demo-studies'),
  outDir: join(root, 'build', 'demo'),
  urlPrefix: '/chestaid/demo',
  documentName: 'studies.json',
  generatedDir: 'generated',
});

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

function readPart10(file) {
  const bytes = readFileSync(file);
  const message = DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return {
    dataset: DicomMetaDictionary.naturalizeDataset(message.dict),
    meta: DicomMetaDictionary.naturalizeDataset(message.meta),
  };
}

/** A stable UID under the UUID-derived root 2.25 (PS3.5 B.2), from a name. */
export function uidFor(name) {
  const digest = createHash('sha256').update(name).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`)}`;
}

const isBinary = value =>
  value instanceof ArrayBuffer || ArrayBuffer.isView(value) || (Array.isArray(value) && value.some(isBinary));

/**
 * The header as OHIF's metadata store wants it: naturalized, without pixel data or other bulk.
 * VOILUTFunction stays a one-value list: Cornerstone 5.6.8's image loader (in OHIF 3.13.2) takes
 * `voiLUTFunction[0]`, which turns the naturalized string "LINEAR" into "L" and then refuses it
 * ("Invalid VOI LUT function"), so the image never shows.
 */
function instanceMetadata(dataset) {
  const metadata = Object.fromEntries(
    Object.entries(dataset).filter(([keyword, value]) => !keyword.startsWith('_') && !isBinary(value)),
  );
  if (typeof metadata.VOILUTFunction === 'string') {
    metadata.VOILUTFunction = [metadata.VOILUTFunction];
  }
  return metadata;
}

/** Person names are {Alphabetic, Ideographic, Phonetic} groups once naturalized; the study list shows text. */
function personNameText(value) {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : (first?.Alphabetic ?? '');
}

function studyEntry(instances) {
  const first = instances[0].metadata;
  const seriesByUid = new Map();
  for (const instance of instances) {
    const { SeriesInstanceUID } = instance.metadata;
    if (!seriesByUid.has(SeriesInstanceUID)) {
      const m = instance.metadata;
      seriesByUid.set(SeriesInstanceUID, {
        SeriesInstanceUID,
        SeriesNumber: m.SeriesNumber,
        SeriesDescription: m.SeriesDescription,
        SeriesDate: m.SeriesDate,
        SeriesTime: m.SeriesTime,
        Modality: m.Modality,
        instances: [],
      });
    }
    seriesByUid.get(SeriesInstanceUID).instances.push(instance);
  }
  const series = [...seriesByUid.values()];
  return {
    StudyInstanceUID: first.StudyInstanceUID,
    StudyDate: first.StudyDate,
    StudyTime: first.StudyTime,
    StudyDescription: first.StudyDescription,
    AccessionNumber: first.AccessionNumber,
    PatientName: personNameText(first.PatientName),
    PatientID: first.PatientID,
    PatientSex: first.PatientSex,
    PatientAge: first.PatientAge,
    Modalities: [...new Set(series.map(s => s.Modality))].join('\\'),
    NumInstances: instances.length,
    series,
  };
}

/**
 * The synthetic CT: the source radiograph's pixels under a CT header. Clearly labelled in every
 * field a reader sees (patient, study, series, comments), with UIDs derived from the source so the
 * file is reproducible.
 */
export function syntheticCtFrom({ dataset, meta }) {
  const sourceUid = dataset.SOPInstanceUID;
  const ct = {
    ...dataset,
    SOPClassUID: CT_IMAGE_STORAGE,
    SOPInstanceUID: uidFor(`chestaid synthetic CT instance from ${sourceUid}`),
    StudyInstanceUID: uidFor(`chestaid synthetic CT study from ${sourceUid}`),
    SeriesInstanceUID: uidFor(`chestaid synthetic CT series from ${sourceUid}`),
    FrameOfReferenceUID: uidFor(`chestaid synthetic CT frame of reference from ${sourceUid}`),
    Modality: 'CT',
    ImageType: ['DERIVED', 'SECONDARY', 'AXIAL'],
    PatientName: [{ Alphabetic: 'SYNTHETIC^CT TEST CASE' }],
    PatientID: 'SYNTH-CT-0001',
    AccessionNumber: 'SYNCT0001',
    StudyDescription: 'SYNTHETIC CT (relabelled chest radiograph, test case)',
    SeriesDescription: 'SYNTHETIC CT - NOT A REAL CT',
    ImageComments:
      `Synthetic test case made by ChestAid: the pixels of a synthetic CR (${sourceUid}) relabelled as CT. ` +
      'Not a real CT and not a real patient.',
    ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
    ImagePositionPatient: [0, 0, 0],
    SliceThickness: 1,
  };
  delete ct.ViewPosition;
  delete ct.ImagerPixelSpacing;
  delete ct.PatientOrientation;

  return { dataset: ct, bytes: part10Bytes(ct, meta) };
}

function part10Bytes(dataset, meta) {
  const fileMeta = { ...meta, MediaStorageSOPClassUID: dataset.SOPClassUID, MediaStorageSOPInstanceUID: dataset.SOPInstanceUID };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(fileMeta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

/**
 * The two-radiograph study: each source's pixels and header under new study, series and instance
 * UIDs, series 1 and 2 of one synthetic patient. ImageComments names the source instance (the
 * e2e tests look its ground truth up in index.json by it); nothing says which class it is.
 */
export function twoViewStudyFrom(sources) {
  const key = sources.map(({ dataset }) => dataset.SOPInstanceUID).join(' ');
  const StudyInstanceUID = uidFor(`chestaid synthetic two-view study from ${key}`);
  return sources.map(({ dataset, meta }, i) => {
    const sourceUid = dataset.SOPInstanceUID;
    const view = {
      ...dataset,
      StudyInstanceUID,
      SeriesInstanceUID: uidFor(`chestaid synthetic two-view series ${i + 1} from ${sourceUid}`),
      SOPInstanceUID: uidFor(`chestaid synthetic two-view instance ${i + 1} from ${sourceUid}`),
      PatientName: [{ Alphabetic: 'SYNTHETIC^TWO RADIOGRAPHS' }],
      PatientID: 'SYNTH-2V-0001',
      AccessionNumber: 'SYN2V0001',
      StudyDescription: 'SYNTHETIC two chest radiographs (test case)',
      SeriesNumber: i + 1,
      InstanceNumber: 1,
      SeriesDescription: i === 0 ? 'CHEST PA' : 'CHEST PA, REPEAT',
      ImageComments: `Synthetic test case made by ChestAid: the pixels of synthetic demo CR ${sourceUid} under new UIDs. Not a real patient.`,
    };
    return { dataset: view, bytes: part10Bytes(view, meta) };
  });
}

/** The radiographs of detector size, as columns x rows, and whether each keeps a pixel spacing. */
export const LARGE_STUDIES = Object.freeze({
  folder: 'large',
  sizes: Object.freeze([
    Object.freeze({ columns: 2048, rows: 2500, spacing: 'scaled' }),
    Object.freeze({ columns: 3000, rows: 2500, spacing: 'none' }),
  ]),
});

/**
 * `pixels` (width x height, one 16-bit sample each) resampled bilinearly to `columns` x `rows`,
 * edge to edge: output pixel centres sit at the same fractions of the extent as in the source.
 */
function resampleBilinear(pixels, width, height, columns, rows) {
  const out = new Uint16Array(columns * rows);
  const clamp = (v, max) => (v < 0 ? 0 : v > max ? max : v);
  for (let y = 0; y < rows; y++) {
    const sy = clamp(((y + 0.5) * height) / rows - 0.5, height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, height - 1);
    const fy = sy - y0;
    for (let x = 0; x < columns; x++) {
      const sx = clamp(((x + 0.5) * width) / columns - 0.5, width - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, width - 1);
      const fx = sx - x0;
      const top = pixels[y0 * width + x0] * (1 - fx) + pixels[y0 * width + x1] * fx;
      const bottom = pixels[y1 * width + x0] * (1 - fx) + pixels[y1 * width + x1] * fx;
      out[y * columns + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}

/**
 * A radiograph of detector size from a demo one: its pixels resampled to `columns` x `rows` under
 * new UIDs, labelled SYNTHETIC in every field a reader sees. With spacing 'scaled' the pixel
 * spacings shrink so the image keeps its physical size (anisotropic when the aspect changes); with
 * 'none' both PixelSpacing and ImagerPixelSpacing go. ImageComments names the source instance;
 * nothing says which class it is.
 */
export function largeVariantFrom({ dataset, meta }, { columns, rows, spacing }) {
  const sourceUid = dataset.SOPInstanceUID;
  if (dataset.BitsAllocated !== 16 || dataset.SamplesPerPixel !== 1) {
    throw new Error(`${sourceUid}: expected one 16-bit sample per pixel, got BitsAllocated ${dataset.BitsAllocated}, SamplesPerPixel ${dataset.SamplesPerPixel}`);
  }
  const source = new Uint16Array(dataset.PixelData[0], 0, dataset.Rows * dataset.Columns);
  const pixels = resampleBilinear(source, dataset.Columns, dataset.Rows, columns, rows);
  const size = `${columns}x${rows}`;
  const large = {
    ...dataset,
    Rows: rows,
    Columns: columns,
    PixelData: [pixels.buffer],
    StudyInstanceUID: uidFor(`chestaid synthetic large ${size} study from ${sourceUid}`),
    SeriesInstanceUID: uidFor(`chestaid synthetic large ${size} series from ${sourceUid}`),
    SOPInstanceUID: uidFor(`chestaid synthetic large ${size} instance from ${sourceUid}`),
    PatientName: [{ Alphabetic: `SYNTHETIC^LARGE ${size}` }],
    PatientID: `SYNTH-L${size}`,
    AccessionNumber: `SYNL${columns}${rows}`.slice(0, 16),
    StudyDescription: `SYNTHETIC chest radiograph resampled to ${size} (test case)`,
    SeriesDescription: `CHEST PA, ${size}`,
    ImageComments:
      `Synthetic test case made by ChestAid: the pixels of synthetic demo CR ${sourceUid} resampled to ${size}` +
      `${spacing === 'none' ? ', without pixel spacing' : ''}. Not a real patient.`,
  };
  if (spacing === 'none') {
    delete large.PixelSpacing;
    delete large.ImagerPixelSpacing;
  } else {
    // [between rows, between columns]; DS holds 16 characters.
    const scaled = ([r, c]) => [Number(((r * dataset.Rows) / rows).toPrecision(10)), Number(((c * dataset.Columns) / columns).toPrecision(10))];
    for (const keyword of ['PixelSpacing', 'ImagerPixelSpacing']) if (dataset[keyword]) large[keyword] = scaled(dataset[keyword]);
  }
  return { dataset: large, bytes: part10Bytes(large, meta) };
}

/**
 * Writes LARGE_STUDIES from the first PNEUMONIA demo study into `<outDir>/large/dicom/`, where
 * CHESTAID_EXTRA_STUDIES=large lists them; returns their files.
 */
export function writeLargeStudies({ sourceDir, outDir } = DEMO) {
  const index = JSON.parse(readFileSync(join(sourceDir, 'index.json'), 'utf8'));
  const entry = index.studies?.find(s => s.label === 'PNEUMONIA');
  if (!entry) throw new Error(`${join(sourceDir, 'index.json')} lists no PNEUMONIA study to derive the large studies from`);
  const source = readPart10(join(sourceDir, entry.file));
  return LARGE_STUDIES.sizes.map(size => {
    const file = join(outDir, LARGE_STUDIES.folder, 'dicom', `synthetic-large-${size.columns}x${size.rows}.dcm`);
    writeIfChanged(file, largeVariantFrom(source, size).bytes);
    return file;
  });
}

/** core/src/analysis.ts's reason for an image the input check refuses. */
const OUT_OF_DISTRIBUTION_REASON = /^outside what this model was trained on \(input check \d+\.\d > \d+\.\d: the image does not look like a frontal chest radiograph\)$/;

/**
 * Studies the model card excludes, for the refusal tests (panel, worklist, worker): the first
 * PNEUMONIA demo image's pixels under new UIDs with the tags of an image the intended-use gate
 * refuses, each labelled SYNTHETIC. `code` and `reason` are what the gate must answer
 * (core/src/intendedUse.ts). From a PNEUMONIA image, so a gate that let one through would show a
 * high score, loudly.
 */
export const REFUSED_STUDIES = Object.freeze({
  folder: 'refused',
  cases: Object.freeze([
    Object.freeze({
      name: 'lateral',
      patch: { ViewPosition: 'LL', SeriesDescription: 'CHEST LAT' },
      code: 'non-frontal-view',
      reason: /^a LL view; the model reads frontal chest radiographs \(ViewPosition PA or AP\) only$/,
    }),
    Object.freeze({
      name: 'for-processing',
      // A raw DX as a detector exports it for processing: its own SOP class, and the intent.
      patch: { SOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1.1', Modality: 'DX', PresentationIntentType: 'FOR PROCESSING', SeriesDescription: 'CHEST PA RAW' },
      code: 'for-processing',
      reason: /^a FOR PROCESSING image \(raw detector data\); the model reads FOR PRESENTATION radiographs only$/,
    }),
    Object.freeze({
      name: 'infant',
      // Six months old at the study (2026-01-01): younger than the card's 1 year.
      patch: { PatientAge: '006M', PatientBirthDate: '20250701', StudyDate: '20260101', SeriesDescription: 'CHEST AP INFANT', ViewPosition: 'AP' },
      code: 'age-out-of-range',
      reason: /^the patient's age, 6 months \(PatientAge 006M\), is outside the model's intended use \(1 year and older\)$/,
    }),
    // Pixels that are no chest radiograph under the tags of one (an adult frontal chest CR): the
    // tags pass the gate, the image-based input check must refuse them. One case per
    // out-of-distribution class of the training report, from its 224 x 224 8-bit parity images
    // (test/fixtures/input-check/ood-<class>.u8, written by `python3 -m chestaid_train input-check`).
    ...['ct', 'mr', 'hand', 'knee', 'lateral_chest', 'inverted_chest', 'rotated_chest', 'photo', 'noise', 'pattern'].map(name =>
      Object.freeze({ name: name.replace('_', '-'), fixture: `ood-${name}`, code: 'out-of-distribution', reason: OUT_OF_DISTRIBUTION_REASON }),
    ),
  ]),
});

/** A case's pixels: an input-check parity image (8-bit, scaled to the 12 bits stored) or the source's. */
function casePixels({ fixture }) {
  if (!fixture) return {};
  const side = 224;
  const bytes = readFileSync(join(root, 'test/fixtures/input-check', `${fixture}.u8`));
  if (bytes.length !== side * side) throw new Error(`${fixture}.u8: expected ${side * side} bytes, got ${bytes.length}`);
  return { PixelData: [Uint16Array.from(bytes, v => v * 16).buffer], Rows: side, Columns: side };
}

/** One REFUSED_STUDIES case from a demo image: its pixels (or the case's) under new UIDs and the case's tags. */
export function refusedVariantFrom({ dataset, meta }, kase) {
  const { name, patch } = kase;
  const sourceUid = dataset.SOPInstanceUID;
  const study = {
    ...dataset,
    ...patch,
    ...casePixels(kase),
    StudyInstanceUID: uidFor(`chestaid synthetic refused ${name} study from ${sourceUid}`),
    SeriesInstanceUID: uidFor(`chestaid synthetic refused ${name} series from ${sourceUid}`),
    SOPInstanceUID: uidFor(`chestaid synthetic refused ${name} instance from ${sourceUid}`),
    PatientName: [{ Alphabetic: `SYNTHETIC^NOT ANALYZED ${name.toUpperCase()}` }],
    PatientID: `SYNTH-NA-${name.toUpperCase()}`.slice(0, 64),
    AccessionNumber: `SYNNA${name.toUpperCase().replace(/[^A-Z]/g, '')}`.slice(0, 16),
    StudyDescription: `SYNTHETIC ${name} radiograph the model card excludes (test case)`,
    ImageComments:
      (kase.fixture
        ? `Synthetic test case made by ChestAid: a ${name} image (ChestAid's input-check test set) under the tags of demo CR ${sourceUid}, an adult frontal chest radiograph, `
        : `Synthetic test case made by ChestAid: the pixels of synthetic demo CR ${sourceUid} with the tags of a ${name} image, `) +
      'which ChestAid must not analyze. Not a real patient.',
  };
  return { dataset: study, bytes: part10Bytes(study, meta) };
}

/**
 * Writes REFUSED_STUDIES from the first PNEUMONIA demo study into `<outDir>/refused/dicom/`, where
 * CHESTAID_EXTRA_STUDIES=refused lists them (the default list, and what counts it, are unchanged);
 * returns each case with its file and UIDs.
 */
export function writeRefusedStudies({ sourceDir, outDir } = DEMO) {
  const index = JSON.parse(readFileSync(join(sourceDir, 'index.json'), 'utf8'));
  const entry = index.studies?.find(s => s.label === 'PNEUMONIA');
  if (!entry) throw new Error(`${join(sourceDir, 'index.json')} lists no PNEUMONIA study to derive the refused studies from`);
  const source = readPart10(join(sourceDir, entry.file));
  return REFUSED_STUDIES.cases.map(kase => {
    const { dataset, bytes } = refusedVariantFrom(source, kase);
    const file = join(outDir, REFUSED_STUDIES.folder, 'dicom', `synthetic-refused-${kase.name}.dcm`);
    writeIfChanged(file, bytes);
    return { ...kase, file, studyInstanceUID: dataset.StudyInstanceUID, seriesInstanceUID: dataset.SeriesInstanceUID, sopInstanceUID: dataset.SOPInstanceUID };
  });
}

/** The patient with a prior (issue 18 item 4): two studies, dated eight months apart, of one synthetic patient. */
export const PRIOR_STUDIES = Object.freeze({
  folder: 'prior',
  patientId: 'SYNTH-PR-0001',
  // The prior from the first NORMAL demo image, the current one from the first PNEUMONIA image.
  studies: Object.freeze([
    Object.freeze({ name: 'prior', label: 'NORMAL', StudyDate: '20260305' }),
    Object.freeze({ name: 'current', label: 'PNEUMONIA', StudyDate: '20261104' }),
  ]),
});

/** One PRIOR_STUDIES study from a demo image: its pixels under new UIDs, the shared patient and the study's date. */
export function priorPairStudyFrom({ dataset, meta }, { name, StudyDate }) {
  const sourceUid = dataset.SOPInstanceUID;
  const study = {
    ...dataset,
    StudyInstanceUID: uidFor(`chestaid synthetic ${name} study of patient ${PRIOR_STUDIES.patientId} from ${sourceUid}`),
    SeriesInstanceUID: uidFor(`chestaid synthetic ${name} series of patient ${PRIOR_STUDIES.patientId} from ${sourceUid}`),
    SOPInstanceUID: uidFor(`chestaid synthetic ${name} instance of patient ${PRIOR_STUDIES.patientId} from ${sourceUid}`),
    PatientName: [{ Alphabetic: 'SYNTHETIC^WITH PRIOR' }],
    PatientID: PRIOR_STUDIES.patientId,
    AccessionNumber: `SYNPR${StudyDate}`.slice(0, 16),
    StudyDate,
    SeriesDate: StudyDate,
    ContentDate: StudyDate,
    StudyDescription: `SYNTHETIC chest, ${name} study (test case)`,
    ImageComments: `Synthetic test case made by ChestAid: the pixels of synthetic demo CR ${sourceUid} under new UIDs, as the ${name} study of one patient. Not a real patient.`,
  };
  return { dataset: study, bytes: part10Bytes(study, meta) };
}

/**
 * Writes PRIOR_STUDIES into `<outDir>/prior/dicom/`, where CHESTAID_EXTRA_STUDIES=prior lists them
 * (the default list, and what counts it, are unchanged); returns each study with its file and UIDs.
 */
export function writePriorStudies({ sourceDir, outDir } = DEMO) {
  const index = JSON.parse(readFileSync(join(sourceDir, 'index.json'), 'utf8'));
  return PRIOR_STUDIES.studies.map(kase => {
    const entry = index.studies?.find(s => s.label === kase.label);
    if (!entry) throw new Error(`${join(sourceDir, 'index.json')} lists no ${kase.label} study to derive the ${kase.name} study from`);
    const { dataset, bytes } = priorPairStudyFrom(readPart10(join(sourceDir, entry.file)), kase);
    const file = join(outDir, PRIOR_STUDIES.folder, 'dicom', `synthetic-${kase.name}.dcm`);
    writeIfChanged(file, bytes);
    return {
      ...kase,
      source: entry,
      file,
      studyInstanceUID: dataset.StudyInstanceUID,
      seriesInstanceUID: dataset.SeriesInstanceUID,
      sopInstanceUID: dataset.SOPInstanceUID,
    };
  });
}

function writeIfChanged(file, content) {
  if (existsSync(file) && readFileSync(file).equals(Buffer.from(content))) {
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

/**
 * Studies a test adds to the list: every Part 10 file in `<outDir>/<name>/dicom/`, e.g. the
 * darkened cohort of training/scripts/make_shifted_cohort.py that the recalibration e2e test
 * scores. Named by CHESTAID_EXTRA_STUDIES (a folder name under build/demo); none by default.
 */
function extraStudyEntries(outDir, urlPrefix, name) {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`CHESTAID_EXTRA_STUDIES=${JSON.stringify(name)}: expected a folder name under ${outDir}`);
  const dir = join(outDir, name, 'dicom');
  if (!existsSync(dir)) throw new Error(`CHESTAID_EXTRA_STUDIES=${name}: ${dir} does not exist`);
  const files = readdirSync(dir).filter(file => file.endsWith('.dcm')).sort();
  if (files.length === 0) throw new Error(`CHESTAID_EXTRA_STUDIES=${name}: ${dir} holds no .dcm file`);
  return files.map(file => {
    const { dataset } = readPart10(join(dir, file));
    return studyEntry([{ metadata: instanceMetadata(dataset), url: `dicomweb:${urlPrefix}/${name}/dicom/${file}` }]);
  });
}

/** Writes the DICOM JSON document (and the synthetic CT it lists) and returns the document. */
export function makeDemoStudies({ sourceDir, outDir, urlPrefix, documentName, generatedDir } = DEMO, { extraStudies = process.env.CHESTAID_EXTRA_STUDIES } = {}) {
  const index = JSON.parse(readFileSync(join(sourceDir, 'index.json'), 'utf8'));
  if (!Array.isArray(index.studies) || index.studies.length === 0) {
    throw new Error(`${join(sourceDir, 'index.json')} lists no studies`);
  }

  const studies = index.studies.map(entry => {
    const parsed = readPart10(join(sourceDir, entry.file));
    if (parsed.dataset.SOPInstanceUID !== entry.SOPInstanceUID) {
      throw new Error(`${entry.file}: SOPInstanceUID ${parsed.dataset.SOPInstanceUID} differs from index.json's ${entry.SOPInstanceUID}`);
    }
    // Only the dicom/ folder is served (index.json holds the ground truth, the masks the lesions).
    if (!entry.file.startsWith('dicom/')) {
      throw new Error(`${entry.name}: ${entry.file} is outside test/demo-studies/dicom/`);
    }
    const url = `dicomweb:${urlPrefix}/${entry.file}`;
    return { parsed, entry: studyEntry([{ metadata: instanceMetadata(parsed.dataset), url }]) };
  });

  const firstOf = label => studies[index.studies.findIndex(entry => entry.label === label)]?.parsed;
  const sources = [firstOf('PNEUMONIA'), firstOf('NORMAL')];
  if (sources.some(source => !source)) throw new Error('index.json needs a PNEUMONIA and a NORMAL study for the two-radiograph study');
  const twoViewInstances = twoViewStudyFrom(sources).map(({ dataset, bytes }, i) => {
    const name = `synthetic-two-view-${i + 1}.dcm`;
    writeIfChanged(join(outDir, generatedDir, name), bytes);
    return { metadata: instanceMetadata(dataset), url: `dicomweb:${urlPrefix}/${generatedDir}/${name}` };
  });
  const twoViewEntry = studyEntry(twoViewInstances);

  const ct = syntheticCtFrom(studies[0].parsed);
  const ctName = 'synthetic-ct-01.dcm';
  writeIfChanged(join(outDir, generatedDir, ctName), ct.bytes);
  const ctEntry = studyEntry([
    { metadata: instanceMetadata(ct.dataset), url: `dicomweb:${urlPrefix}/${generatedDir}/${ctName}` },
  ]);

  const extra = extraStudies ? extraStudyEntries(outDir, urlPrefix, extraStudies) : [];
  const document = {
    note:
      'Generated by scripts/make-demo-studies.mjs from test/demo-studies (synthetic CR studies) plus a synthetic ' +
      'two-radiograph study and a synthetic CT test case' +
      (extra.length ? `, and ${extra.length} synthetic test studies from build/demo/${extraStudies}` : '') +
      '. Not real patients.',
    studies: [...studies.map(s => s.entry), twoViewEntry, ctEntry, ...extra],
  };
  writeIfChanged(join(outDir, documentName), `${JSON.stringify(document, null, 1)}\n`);
  return document;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    if (process.argv.includes('--large')) {
      for (const file of writeLargeStudies()) console.log(`make-demo-studies: ${file}`);
    }
    if (process.argv.includes('--refused')) {
      for (const { file } of writeRefusedStudies()) console.log(`make-demo-studies: ${file}`);
    }
    if (process.argv.includes('--prior')) {
      for (const { file } of writePriorStudies()) console.log(`make-demo-studies: ${file}`);
    }
    const { studies } = makeDemoStudies();
    console.log(`make-demo-studies: ${studies.length} studies in ${join(DEMO.outDir, DEMO.documentName)}`);
  } catch (error) {
    console.error(`make-demo-studies: ${error.message}`);
    process.exit(1);
  }
}
