import dcmjs from 'dcmjs';

import { upsample } from '../cam';
import { InputError } from '../errors';
import type { GreyImage } from '../resize';
import { buildHeatmapSegmentation, type HeatmapSegmentationInput } from './segmentation';
import { demoResult, demoSource } from './testing/fixtures';
import { itemsOf, naturalize } from './values';

function cam(): GreyImage {
  return { data: Float32Array.from({ length: 49 }, (_, i) => ((i * 5) % 49) / 48), width: 7, height: 7 };
}

function segInput(overrides: Partial<HeatmapSegmentationInput> = {}): HeatmapSegmentationInput {
  const { model, calibration } = demoResult();
  return { source: demoSource(), cam: cam(), model, calibration, trainedOnSyntheticData: true, ...overrides };
}

describe('buildHeatmapSegmentation', () => {
  const source = demoSource();
  const built = buildHeatmapSegmentation(segInput());
  const ds = naturalize(built.part10);
  const rows = source.Rows as number;
  const columns = source.Columns as number;

  it('is a BINARY SEG with one segment per attention level, on the source grid', () => {
    expect(ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.66.4');
    expect(ds.Modality).toBe('SEG');
    expect(ds.SegmentationType).toBe('BINARY');
    expect([ds.Rows, ds.Columns, ds.NumberOfFrames]).toEqual([rows, columns, 3]);
    expect(itemsOf(ds.SegmentSequence).map(s => s.SegmentLabel)).toEqual(['Grad-CAM >= 0.25', 'Grad-CAM >= 0.50', 'Grad-CAM >= 0.75']);
    expect(ds.StudyInstanceUID).toBe(source.StudyInstanceUID);
  });

  it('holds, in frame f, exactly the pixels whose upsampled attention reaches level f', () => {
    const packed = (ds.PixelData as ArrayBuffer[])[0];
    // dcmjs unpacks a set bit as 255.
    const bits = Uint8Array.from(dcmjs.data.BitArray.unpack(packed), v => (v ? 1 : 0));
    const map = upsample(cam(), rows, columns).data;
    [0.25, 0.5, 0.75].forEach((level, f) => {
      const frame = bits.subarray(f * rows * columns, (f + 1) * rows * columns);
      const expected = Uint8Array.from(map, v => (v >= level ? 1 : 0));
      expect(Buffer.from(frame).equals(Buffer.from(expected))).toBe(true);
      expect(expected.some(v => v === 1)).toBe(true);
    });
  });

  it('references the source image per frame and by series, as OHIF finds it', () => {
    const [series] = itemsOf(ds.ReferencedSeriesSequence);
    expect(series.SeriesInstanceUID).toBe(source.SeriesInstanceUID);
    for (const frame of itemsOf(ds.PerFrameFunctionalGroupsSequence)) {
      const [derivation] = itemsOf(frame.DerivationImageSequence);
      expect(itemsOf(derivation.SourceImageSequence)[0].ReferencedSOPInstanceUID).toBe(source.SOPInstanceUID);
    }
    expect(itemsOf(ds.PerFrameFunctionalGroupsSequence).map(f => itemsOf(f.SegmentIdentificationSequence)[0].ReferencedSegmentNumber)).toEqual([1, 2, 3]);
  });

  it('refuses levels that are out of range, not increasing or too many', () => {
    expect(() => buildHeatmapSegmentation(segInput({ levels: [0] }))).toThrow(/attention level 0 must lie in \(0, 1\]/);
    expect(() => buildHeatmapSegmentation(segInput({ levels: [0.5, 0.4] }))).toThrow(InputError);
    expect(() => buildHeatmapSegmentation(segInput({ levels: [0.1, 0.2, 0.3, 0.4] }))).toThrow(/levels must list 1 to 3 values/);
  });
});
