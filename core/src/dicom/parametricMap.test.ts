import dcmjs from 'dcmjs';

import { upsample } from '../cam';
import { InputError } from '../errors';
import { layerPlane } from '../heatmapLayer';
import type { GreyImage } from '../resize';
import { buildHeatmapParametricMap, type HeatmapInput } from './parametricMap';
import { readHeatmapPixels, readHeatmapReference } from './readParametricMap';
import { buildResultSr } from './resultSr';
import { demoResult, demoSource } from './testing/fixtures';
import { DicomReadError, itemsOf, naturalize, type Dataset } from './values';

/** A 7x7 map like the model's: a peak at (row 2, column 4), zero far from it, in [0, 1]. */
function modelCam(): GreyImage {
  const data = new Float32Array(49);
  for (let r = 0; r < 7; r++) {
    for (let c = 0; c < 7; c++) data[r * 7 + c] = Math.max(0, 1 - Math.hypot(r - 2, c - 4) / 4);
  }
  return { data, width: 7, height: 7 };
}

function heatmapInput(overrides: Partial<HeatmapInput> = {}): HeatmapInput {
  const { model, calibration } = demoResult();
  return { source: demoSource(), cam: modelCam(), model, calibration, trainedOnSyntheticData: true, ...overrides };
}

const shared = (ds: Dataset) => itemsOf(ds.SharedFunctionalGroupsSequence)[0];
const perFrame = (ds: Dataset) => itemsOf(ds.PerFrameFunctionalGroupsSequence)[0];

describe('buildHeatmapParametricMap: the map and the image it belongs to', () => {
  const source = demoSource();
  const built = buildHeatmapParametricMap(heatmapInput());
  const ds = naturalize(built.part10);

  it('references the source image, its series and study, as readHeatmapReference reports', () => {
    const reference = readHeatmapReference(built.part10);
    expect(reference).toEqual({
      sopInstanceUID: built.sopInstanceUID,
      seriesInstanceUID: built.seriesInstanceUID,
      source: {
        studyInstanceUID: source.StudyInstanceUID,
        seriesInstanceUID: source.SeriesInstanceUID,
        sopInstanceUID: source.SOPInstanceUID,
        sopClassUID: source.SOPClassUID,
      },
      grid: { rows: source.Rows, columns: source.Columns },
      frameOfReferenceUID: ds.FrameOfReferenceUID,
      model: demoResult().model,
      calibrationVersion: demoResult().calibration.version,
    });
  });

  it('names the source in each place OHIF 3.13 looks: ReferencedSeriesSequence and DerivationImageSequence', () => {
    const [series] = itemsOf(ds.ReferencedSeriesSequence);
    expect(series.SeriesInstanceUID).toBe(source.SeriesInstanceUID);
    expect(itemsOf(series.ReferencedInstanceSequence)[0].ReferencedSOPInstanceUID).toBe(source.SOPInstanceUID);
    const [derivation] = itemsOf(shared(ds).DerivationImageSequence);
    const [sop] = itemsOf(derivation.SourceImageSequence);
    expect(sop).toMatchObject({ ReferencedSOPClassUID: source.SOPClassUID, ReferencedSOPInstanceUID: source.SOPInstanceUID });
    expect(itemsOf(sop.PurposeOfReferenceCodeSequence)[0]).toMatchObject({ CodeValue: '121322', CodingSchemeDesignator: 'DCM' });
  });

  it('decodes back to the CAM upsampled to the source grid, value for value', () => {
    const pixels = readHeatmapPixels(built.part10);
    const expected = upsample(modelCam(), source.Rows as number, source.Columns as number);
    expect(pixels.width).toBe(source.Columns);
    expect(pixels.height).toBe(source.Rows);
    expect(Array.from(pixels.data)).toEqual(Array.from(expected.data));
    expect(Math.max(...pixels.data)).toBeLessThanOrEqual(1);
    expect(Math.min(...pixels.data)).toBeGreaterThanOrEqual(0);
  });

  it('stores a map already at the grid size as given, bit for bit', () => {
    const rows = source.Rows as number;
    const columns = source.Columns as number;
    const data = Float32Array.from({ length: rows * columns }, (_, i) => (i % 997) / 996);
    const pixels = readHeatmapPixels(buildHeatmapParametricMap(heatmapInput({ cam: { data, width: columns, height: rows } })).part10);
    // Compared as bytes: a 96k-element toEqual takes seconds.
    expect(Buffer.from(pixels.data.buffer).equals(Buffer.from(data.buffer))).toBe(true);
  });

  it('is a Parametric Map with float pixels, a real-world value mapping of 0..1 and the device in Contributing Equipment', () => {
    expect(ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.30');
    expect(ds.Modality).toBe('OT');
    expect(ds.StudyInstanceUID).toBe(source.StudyInstanceUID);
    expect(ds.PatientID).toBe(source.PatientID);
    expect(ds.SeriesDescription).toBe('ChestAid Grad-CAM heatmap');
    expect(ds.SeriesInstanceUID).not.toBe(source.SeriesInstanceUID);
    expect(ds.BitsAllocated).toBe(32);
    expect(ds.BitsStored).toBeUndefined();
    expect(ds.PixelData).toBeUndefined();
    expect(ds.NumberOfFrames).toBe(1);
    const [mapping] = itemsOf(shared(ds).RealWorldValueMappingSequence);
    expect(mapping).toMatchObject({
      DoubleFloatRealWorldValueFirstValueMapped: 0,
      DoubleFloatRealWorldValueLastValueMapped: 1,
      RealWorldValueSlope: 1,
      RealWorldValueIntercept: 0,
    });
    const [equipment] = itemsOf(ds.ContributingEquipmentSequence);
    expect(equipment).toMatchObject({ Manufacturer: 'ChestAid', DeviceUID: demoResult().model.deviceUID });
    expect(itemsOf(perFrame(ds).FrameContentSequence)[0].DimensionIndexValues).toBe(1);
    // The one dimension: Image Position (Patient) in the Plane Position functional group.
    expect(itemsOf(ds.DimensionIndexSequence)[0]).toMatchObject({ DimensionIndexPointer: 0x00200032, FunctionalGroupPointer: 0x00209113 });
  });

  it('registers a radiograph without patient coordinates by pixel grid, in a new frame of reference', () => {
    expect(source.FrameOfReferenceUID).toBeUndefined();
    expect(ds.FrameOfReferenceUID).toMatch(/^2\.25\./);
    expect(itemsOf(shared(ds).PlaneOrientationSequence)[0].ImageOrientationPatient).toEqual([1, 0, 0, 0, 1, 0]);
    expect(itemsOf(perFrame(ds).PlanePositionSequence)[0].ImagePositionPatient).toEqual([0, 0, 0]);
    expect(itemsOf(shared(ds).PixelMeasuresSequence)[0].PixelSpacing).toEqual(source.PixelSpacing);
    expect(itemsOf(shared(ds).DerivationImageSequence)[0].DerivationDescription).toMatch(/New frame of reference: registered to the source image by pixel grid/);
  });

  it('falls back to ImagerPixelSpacing when the source has no PixelSpacing', () => {
    const { PixelSpacing: _dropped, ...projection } = demoSource();
    const map = naturalize(buildHeatmapParametricMap(heatmapInput({ source: { ...projection, ImagerPixelSpacing: [0.2, 0.3] } })).part10);
    expect(itemsOf(shared(map).PixelMeasuresSequence)[0].PixelSpacing).toEqual([0.2, 0.3]);
  });
});

describe('buildHeatmapParametricMap: Frame Anatomy, which the IOD makes mandatory', () => {
  const anatomy = (source: Dataset) => itemsOf(shared(naturalize(buildHeatmapParametricMap(heatmapInput({ source })).part10)).FrameAnatomySequence)[0];
  const region = (item: Dataset) => itemsOf(item.AnatomicRegionSequence)[0];

  it('says chest and U (unpaired) for a source that states neither region nor laterality', () => {
    const item = anatomy(demoSource());
    expect(item.FrameLaterality).toBe('U');
    expect(region(item)).toMatchObject({ CodeValue: '43799004', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Chest' });
  });

  it("keeps the source's ImageLaterality, else its series Laterality", () => {
    expect(anatomy({ ...demoSource(), ImageLaterality: 'B', Laterality: 'R' }).FrameLaterality).toBe('B');
    expect(anatomy({ ...demoSource(), Laterality: 'L' }).FrameLaterality).toBe('L');
  });

  it('ignores a laterality that is not one of R, L, U, B', () => {
    expect(anatomy({ ...demoSource(), ImageLaterality: 'X' }).FrameLaterality).toBe('U');
  });

  it("keeps the source's coded anatomic region, and ignores one without a full code", () => {
    const thorax = { CodeValue: '51185008', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Thorax' };
    expect(region(anatomy({ ...demoSource(), AnatomicRegionSequence: [thorax] }))).toMatchObject(thorax);
    expect(region(anatomy({ ...demoSource(), AnatomicRegionSequence: [{ CodeValue: '51185008' }] }))).toMatchObject({ CodeValue: '43799004' });
  });
});

describe('buildHeatmapParametricMap with a source that has patient coordinates', () => {
  const frame = '1.2.826.0.1.3680043.8.498.12345';
  const registered: Dataset = {
    ...demoSource(),
    FrameOfReferenceUID: frame,
    ImageOrientationPatient: [0, 1, 0, 0, 0, -1],
    ImagePositionPatient: [-10, 20, 30],
    PixelSpacing: [0.5, 0.25],
  };

  it('shares the frame of reference, orientation, position and spacing', () => {
    const ds = naturalize(buildHeatmapParametricMap(heatmapInput({ source: registered })).part10);
    expect(ds.FrameOfReferenceUID).toBe(frame);
    expect(itemsOf(shared(ds).PlaneOrientationSequence)[0].ImageOrientationPatient).toEqual([0, 1, 0, 0, 0, -1]);
    expect(itemsOf(perFrame(ds).PlanePositionSequence)[0].ImagePositionPatient).toEqual([-10, 20, 30]);
    expect(itemsOf(shared(ds).PixelMeasuresSequence)[0].PixelSpacing).toEqual([0.5, 0.25]);
  });

  it('places a smaller grid over the same area, as the viewer overlay does', () => {
    const grid = { rows: 64, columns: 32 };
    const built = buildHeatmapParametricMap(heatmapInput({ source: registered, grid }));
    const ds = naturalize(built.part10);
    const rows = registered.Rows as number;
    const columns = registered.Columns as number;
    const expected = layerPlane(
      { rows, columns, rowSpacing: 0.5, columnSpacing: 0.25, origin: [-10, 20, 30], rowCosines: [0, 1, 0], columnCosines: [0, 0, -1] },
      grid,
    );
    expect(readHeatmapReference(built.part10).grid).toEqual(grid);
    expect(readHeatmapPixels(built.part10).data).toEqual(upsample(modelCam(), 64, 32).data);
    const [spacingRow, spacingColumn] = itemsOf(shared(ds).PixelMeasuresSequence)[0].PixelSpacing as number[];
    expect(spacingRow).toBeCloseTo(expected.rowSpacing, 10);
    expect(spacingColumn).toBeCloseTo(expected.columnSpacing, 10);
    const position = itemsOf(perFrame(ds).PlanePositionSequence)[0].ImagePositionPatient as number[];
    position.forEach((v, i) => expect(v).toBeCloseTo(expected.origin[i], 10));
  });
});

describe('heatmap readers on other input', () => {
  it('read the reference from DICOM JSON metadata, and say the pixels need the instance', () => {
    const built = buildHeatmapParametricMap(heatmapInput());
    const tagKeyed = dcmjs.data.DicomMessage.readFile(built.part10).dict;
    // WADO-RS metadata carries bulk data as a URI, not the values.
    tagKeyed['7FE00008'] = { vr: 'OF', BulkDataURI: 'http://pacs/bulk/7FE00008' };
    const metadata = JSON.parse(JSON.stringify(tagKeyed));
    expect(readHeatmapReference(metadata)).toEqual(readHeatmapReference(built.part10));
    expect(() => readHeatmapPixels(metadata)).toThrow(/no Float Pixel Data here .*retrieve the instance/);
  });

  it('refuse a result SR and a plain image, by SOP class', () => {
    expect(() => readHeatmapReference(buildResultSr(demoResult()).part10)).toThrow(DicomReadError);
    expect(() => readHeatmapReference(demoSource())).toThrow(/SOP class "1.2.840.10008.5.1.4.1.1.1" is not Parametric Map Storage/);
  });
});

describe('buildHeatmapParametricMap refuses bad input, naming it', () => {
  const cam = modelCam();
  const withValue = (value: number) => {
    const data = cam.data.slice();
    data[5] = value;
    return { ...cam, data };
  };
  const cases: [string, Partial<HeatmapInput>, RegExp][] = [
    ['a NaN in the CAM', { cam: withValue(NaN) }, /cam value NaN at index 5 is not a normalised value in \[0, 1\]/],
    ['an unnormalised CAM', { cam: withValue(3.5) }, /cam value 3.5 at index 5/],
    ['a CAM of the wrong length', { cam: { data: new Float32Array(48), width: 7, height: 7 } }, /cam holds 48 values; expected 7 x 7 = 49/],
    ['a bad sha256', { model: { ...demoResult().model, sha256: 'ABC' } }, /model sha256 must be 64 lower-case hex digits/],
    ['a source without Rows', { source: { ...demoSource(), Rows: undefined } }, /source Rows must be a positive integer, got undefined/],
    ['a zero grid', { grid: { rows: 0, columns: 4 } }, /grid rows must be a positive integer, got 0/],
  ];
  it.each(cases)('refuses %s', (_name, overrides, message) => {
    expect(() => buildHeatmapParametricMap(heatmapInput(overrides))).toThrow(InputError);
    expect(() => buildHeatmapParametricMap(heatmapInput(overrides))).toThrow(message);
  });

  it('refuses a source without a SOPInstanceUID', () => {
    const { SOPInstanceUID: _dropped, ...source } = demoSource();
    expect(() => buildHeatmapParametricMap(heatmapInput({ source }))).toThrow('source image has no SOPInstanceUID');
  });
});
