import dcmjs from 'dcmjs';

import { InputError } from '../errors';
import { CODES } from './codes';
import { findAll, findFirst } from './contentItems';
import { readResultSr, isChestAidResultSr } from './readResultSr';
import { buildResultSr, DECISION_SUPPORT_STATEMENT, SYNTHETIC_DATA_STATEMENT } from './resultSr';
import { demoPart10, demoResult, demoSource } from './testing/fixtures';
import { DicomReadError, itemsOf, naturalize } from './values';

const { DicomMetaDictionary } = dcmjs.data;

/** The content the builder was given, in the form the reader returns. */
function expectedContent(input = demoResult()) {
  const source = demoSource();
  return {
    source: {
      studyInstanceUID: source.StudyInstanceUID,
      seriesInstanceUID: source.SeriesInstanceUID,
      sopInstanceUID: source.SOPInstanceUID,
      sopClassUID: source.SOPClassUID,
    },
    score: input.score,
    logit: input.logit,
    threshold: input.threshold,
    decision: input.decision,
    calibration: input.calibration,
    model: input.model,
    observedAt: input.observedAt,
  };
}

/** The dataset as WADO-RS metadata delivers it: DICOM JSON, through JSON text. */
function asDicomJson(part10: ArrayBuffer): Record<string, unknown> {
  const tagKeyed = dcmjs.data.DicomMessage.readFile(part10).dict;
  return JSON.parse(JSON.stringify(tagKeyed));
}

describe('buildResultSr / readResultSr round trip', () => {
  it('reads back from Part 10 bytes exactly what was written, the score to the last bit', () => {
    const input = demoResult();
    const built = buildResultSr(input);
    const read = readResultSr(built.part10);
    expect(read).toEqual(expectedContent(input));
    expect(Object.is(read.score, 1 / 3)).toBe(true);
  });

  it('reads back from the naturalized dataset and from DICOM JSON (WADO-RS metadata)', () => {
    const input = demoResult({ score: 0.9123456789012345, decision: 'above', logit: 2.5 });
    const built = buildResultSr(input);
    expect(readResultSr(built.dataset)).toEqual(expectedContent(input));
    expect(readResultSr(asDicomJson(built.part10))).toEqual(expectedContent(input));
  });

  it('round-trips the edges of the unit interval and a score equal to the threshold', () => {
    for (const [score, decision] of [[0, 'below'], [1, 'above'], [0.75, 'above']] as const) {
      const input = demoResult({ score, decision, threshold: 0.75 });
      expect(readResultSr(buildResultSr(input).part10)).toEqual(expectedContent(input));
    }
  });

  it('writes a 16-character DS beside the exact FD, and falls back to the DS when the FD is absent', () => {
    const built = buildResultSr(demoResult());
    const probability = findFirst(built.dataset.ContentSequence, CODES.pneumoniaProbability)!;
    const measured = itemsOf(probability.MeasuredValueSequence)[0];
    expect(measured.FloatingPointValue).toBe(1 / 3);
    expect(String(measured.NumericValue).length).toBeLessThanOrEqual(16);
    expect(Math.abs(Number(measured.NumericValue) - 1 / 3)).toBeLessThan(1e-13);

    delete measured.FloatingPointValue;
    expect(readResultSr(built.dataset).score).toBeCloseTo(1 / 3, 13);
  });
});

describe('buildResultSr attributes', () => {
  const source = demoSource();
  const built = buildResultSr(demoResult());
  const ds = naturalize(built.part10);

  it('is a Comprehensive SR titled Imaging Measurement Report, TID 1500, UNVERIFIED and COMPLETE', () => {
    expect(ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.88.33');
    expect(ds.Modality).toBe('SR');
    expect(ds.VerificationFlag).toBe('UNVERIFIED');
    expect(ds.CompletionFlag).toBe('COMPLETE');
    expect(itemsOf(ds.ConceptNameCodeSequence)[0]).toMatchObject({ CodeValue: '126000', CodingSchemeDesignator: 'DCM' });
    expect(itemsOf(ds.ContentTemplateSequence)[0]).toMatchObject({ MappingResource: 'DCMR', TemplateIdentifier: '1500' });
    expect(ds.SeriesDescription).toBe('ChestAid AI result');
  });

  it('files under the source study and patient, with a new series and instance in the 2.25 UUID form', () => {
    expect(ds.StudyInstanceUID).toBe(source.StudyInstanceUID);
    for (const key of ['PatientID', 'PatientName', 'PatientBirthDate', 'PatientSex', 'AccessionNumber', 'StudyDate', 'StudyID']) {
      expect(ds[key]).toEqual(source[key]);
    }
    expect(ds.SeriesInstanceUID).toBe(built.seriesInstanceUID);
    expect(ds.SOPInstanceUID).toBe(built.sopInstanceUID);
    expect(built.seriesInstanceUID).not.toBe(source.SeriesInstanceUID);
    expect(built.sopInstanceUID).toMatch(/^2\.25\.[1-9][0-9]{0,38}$/);
    expect(built.seriesInstanceUID).toMatch(/^2\.25\.[1-9][0-9]{0,38}$/);
    expect(buildResultSr(demoResult()).sopInstanceUID).not.toBe(built.sopInstanceUID);
  });

  it('names the device in Contributing Equipment with its UID, model, sha256 and calibration', () => {
    const [equipment] = itemsOf(ds.ContributingEquipmentSequence);
    const input = demoResult();
    expect(equipment.Manufacturer).toBe('ChestAid');
    expect(equipment.ManufacturerModelName).toBe(input.model.id);
    expect(equipment.DeviceUID).toBe(input.model.deviceUID);
    expect(equipment.SoftwareVersions).toEqual([input.model.version, input.model.sha256, `calibration ${input.calibration.version}`]);
    expect(itemsOf(equipment.PurposeOfReferenceCodeSequence)[0]).toMatchObject({ CodeValue: '109102', CodingSchemeDesignator: 'DCM' });
  });

  it('references the source image in the evidence sequence and in an IMAGE item', () => {
    const [study] = itemsOf(ds.CurrentRequestedProcedureEvidenceSequence);
    const [series] = itemsOf(study.ReferencedSeriesSequence);
    const [sop] = itemsOf(series.ReferencedSOPSequence);
    expect(study.StudyInstanceUID).toBe(source.StudyInstanceUID);
    expect(series.SeriesInstanceUID).toBe(source.SeriesInstanceUID);
    expect(sop).toMatchObject({ ReferencedSOPClassUID: source.SOPClassUID, ReferencedSOPInstanceUID: source.SOPInstanceUID });
    const image = findFirst(ds.ContentSequence, CODES.sourceOfMeasurement)!;
    expect(image.ValueType).toBe('IMAGE');
    expect(itemsOf(image.ReferencedSOPSequence)[0].ReferencedSOPInstanceUID).toBe(source.SOPInstanceUID);
  });

  it('lists the source image in the TID 1600 Image Library, where OHIF looks for the images to show', () => {
    const library = findFirst(ds.ContentSequence, CODES.imageLibrary)!;
    const group = findFirst(library.ContentSequence, CODES.imageLibraryGroup)!;
    const [entry] = itemsOf(group.ContentSequence);
    expect(entry.ValueType).toBe('IMAGE');
    expect(itemsOf(entry.ReferencedSOPSequence)[0]).toMatchObject({ ReferencedSOPInstanceUID: source.SOPInstanceUID });
  });

  it('outlines the whole image as a TID 1410 Image Region, which OHIF 3.13 needs to open the SR', () => {
    const region = findFirst(ds.ContentSequence, CODES.imageRegion)!;
    const { Rows: rows, Columns: columns } = source as { Rows: number; Columns: number };
    expect(region.ValueType).toBe('SCOORD');
    expect(region.GraphicType).toBe('POLYLINE');
    expect(Array.from(region.GraphicData as number[])).toEqual([0, 0, columns, 0, columns, rows, 0, rows, 0, 0]);
    const [selectedFrom] = itemsOf(region.ContentSequence);
    expect(selectedFrom).toMatchObject({ RelationshipType: 'SELECTED FROM', ValueType: 'IMAGE' });
    expect(itemsOf(selectedFrom.ReferencedSOPSequence)[0].ReferencedSOPInstanceUID).toBe(source.SOPInstanceUID);
  });

  it('gives no NUM item children, which OHIF 3.13 would take for a spatial measurement and drop', () => {
    const nums: Record<string, unknown>[] = [];
    const walk = (items: unknown) =>
      itemsOf(items).forEach(item => {
        if (item.ValueType === 'NUM') nums.push(item);
        walk(item.ContentSequence);
      });
    walk(ds.ContentSequence);
    expect(nums).toHaveLength(3);
    for (const num of nums) expect(num.ContentSequence).toBeUndefined();
  });

  it('has a device observer context and the pneumonia finding', () => {
    expect(itemsOf(findFirst(ds.ContentSequence, CODES.observerType)!.ConceptCodeSequence)[0]).toMatchObject({ CodeValue: '121007' });
    expect(findFirst(ds.ContentSequence, CODES.deviceObserverUid)!.UID).toBe(demoResult().model.deviceUID);
    expect(itemsOf(findFirst(ds.ContentSequence, CODES.finding)!.ConceptCodeSequence)[0]).toMatchObject({
      CodeValue: '233604007',
      CodingSchemeDesignator: 'SCT',
    });
  });

  it('says it is decision support, and says synthetic training data only when the model was', () => {
    const comments = (d: Record<string, unknown>) => findAll(d.ContentSequence, CODES.comment).map(item => item.TextValue);
    expect(comments(ds)).toEqual([DECISION_SUPPORT_STATEMENT, SYNTHETIC_DATA_STATEMENT]);
    const real = buildResultSr(demoResult({ trainedOnSyntheticData: false }));
    expect(comments(real.dataset)).toEqual([DECISION_SUPPORT_STATEMENT]);
  });

  it('accepts the source header as DICOM JSON or Part 10 bytes', () => {
    const fromJson = buildResultSr(demoResult({ source: asDicomJson(demoPart10()) }));
    const fromBytes = buildResultSr(demoResult({ source: demoPart10() }));
    expect(readResultSr(fromJson.part10)).toEqual(expectedContent());
    expect(readResultSr(fromBytes.part10)).toEqual(expectedContent());
  });
});

describe('buildResultSr refuses bad input, naming it', () => {
  const cases: [string, Parameters<typeof demoResult>[0], RegExp][] = [
    ['a NaN score', { score: NaN }, /score must be a finite number, got NaN/],
    ['an infinite score', { score: Infinity }, /score must be a finite number, got Infinity/],
    ['a score above 1', { score: 1.5, decision: 'above' }, /score must lie in \[0, 1\], got 1.5/],
    ['a non-finite logit', { logit: -Infinity }, /logit must be a finite number/],
    ['an unknown decision', { decision: 'maybe' as never }, /decision must be 'above' or 'below', got "maybe"/],
    ['a decision that contradicts the score', { decision: 'above' }, /decision "above" contradicts score 0.333/],
    ['a malformed sha256', { model: { ...demoResult().model, sha256: 'abc' } }, /model sha256 must be 64 lower-case hex digits, got "abc"/],
    ['a malformed device UID', { model: { ...demoResult().model, deviceUID: 'not-a-uid' } }, /deviceUID is not a valid UID: "not-a-uid"/],
    ['an empty calibration method', { calibration: { method: '', version: '1' } }, /calibration method must be a non-empty string/],
    ['an unparseable time', { observedAt: 'yesterday' }, /observedAt is not a valid date-time: "yesterday"/],
  ];
  it.each(cases)('refuses %s', (_name, overrides, message) => {
    expect(() => buildResultSr(demoResult(overrides))).toThrow(InputError);
    expect(() => buildResultSr(demoResult(overrides))).toThrow(message);
  });

  it.each(['SOPInstanceUID', 'SeriesInstanceUID', 'StudyInstanceUID', 'SOPClassUID'])('refuses a source without %s', keyword => {
    const source = demoSource();
    delete source[keyword];
    expect(() => buildResultSr(demoResult({ source }))).toThrow(`source image has no ${keyword}`);
  });

  it('refuses a source UID that is not a UID', () => {
    expect(() => buildResultSr(demoResult({ source: { ...demoSource(), SOPInstanceUID: '1.2.03' } }))).toThrow(
      'source image SOPInstanceUID is not a valid UID: "1.2.03"',
    );
  });
});

describe('readResultSr refuses what is not a ChestAid result SR', () => {
  it('refuses an image, by its SOP class', () => {
    expect(() => readResultSr(demoPart10())).toThrow(DicomReadError);
    expect(() => readResultSr(demoPart10())).toThrow(/SOP class "1.2.840.10008.5.1.4.1.1.1" is not a Comprehensive or Enhanced SR/);
  });

  it('refuses bytes that are not DICOM', () => {
    expect(() => readResultSr(new Uint8Array([1, 2, 3, 4]).buffer)).toThrow(/not a readable DICOM Part 10 file \(4 bytes\)/);
  });

  it('refuses an SR of another kind, and one whose decision code is unknown', () => {
    const other = { ...buildResultSr(demoResult()).dataset, ContentSequence: [] };
    expect(() => readResultSr(other)).toThrow(/no "Calibrated probability of pneumonia"/);

    const built = buildResultSr(demoResult());
    const decision = findFirst(built.dataset.ContentSequence, CODES.thresholdDecision)!;
    decision.ConceptCodeSequence = [{ CodeValue: 'X', CodingSchemeDesignator: '99OTHER', CodeMeaning: 'x' }];
    expect(() => readResultSr(built.dataset)).toThrow(/unknown threshold decision code/);
  });

  it('refuses a header-only QIDO row, pointing at WADO-RS metadata', () => {
    const built = buildResultSr(demoResult());
    const { ContentSequence: _content, ...header } = built.dataset;
    expect(() => readResultSr(header)).toThrow(/no ContentSequence \(a QIDO-RS row\? read WADO-RS metadata\)/);
  });
});

describe('isChestAidResultSr', () => {
  const built = buildResultSr(demoResult());

  it('recognises the SR as a dataset, as bytes and as DICOM JSON', () => {
    expect(isChestAidResultSr(built.dataset)).toBe(true);
    expect(isChestAidResultSr(built.part10)).toBe(true);
    expect(isChestAidResultSr(asDicomJson(built.part10))).toBe(true);
  });

  it('recognises a QIDO-RS row by SOP class and series description, in DICOM JSON', () => {
    const row = DicomMetaDictionary.denaturalizeDataset({
      SOPClassUID: built.dataset.SOPClassUID,
      SOPInstanceUID: built.sopInstanceUID,
      Modality: 'SR',
      SeriesDescription: 'ChestAid AI result',
    });
    expect(isChestAidResultSr(row)).toBe(true);
    const otherRow = DicomMetaDictionary.denaturalizeDataset({ SOPClassUID: built.dataset.SOPClassUID, Modality: 'SR', SeriesDescription: 'Radiologist report' });
    expect(isChestAidResultSr(otherRow)).toBe(false);
  });

  it('rejects the source image, an empty row and junk', () => {
    expect(isChestAidResultSr(demoSource())).toBe(false);
    expect(isChestAidResultSr({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.33' })).toBe(false);
    expect(isChestAidResultSr(new Uint8Array([0, 1]).buffer)).toBe(false);
  });
});
