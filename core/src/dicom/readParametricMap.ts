/**
 * Reads a ChestAid heatmap Parametric Map back: where it belongs (source image, grid, frame of
 * reference, model and calibration) from the header alone, so WADO-RS metadata suffices; and the
 * map values themselves from Part 10 bytes or a naturalized dataset that holds the pixel data.
 */
import type { GreyImage } from '../resize';
import type { HeatmapReference } from './parametricMap';
import { SOP_CLASS, CHESTAID_MANUFACTURER, HEATMAP_SERIES_DESCRIPTION } from './types';
import { DicomReadError, isUid, itemsOf, naturalize, numberOf, text, type Dataset, type DatasetSource } from './values';
import { calibrationOfSoftwareVersions } from './srDocument';

const CALIBRATION_MARK = /calibration version: (.+)$/;

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DicomReadError(`ChestAid heatmap has no ${what}`);
  return value;
}

function checkIsHeatmap(dataset: Dataset): void {
  const sopClass = text(dataset.SOPClassUID);
  if (sopClass !== SOP_CLASS.parametricMap) {
    throw new DicomReadError(`not a ChestAid heatmap: SOP class ${JSON.stringify(sopClass ?? null)} is not Parametric Map Storage`);
  }
  const equipment = itemsOf(dataset.ContributingEquipmentSequence).find(item => text(item.Manufacturer) === CHESTAID_MANUFACTURER);
  if (!equipment && text(dataset.SeriesDescription) !== HEATMAP_SERIES_DESCRIPTION) {
    throw new DicomReadError('not a ChestAid heatmap: neither Contributing Equipment nor the series description names ChestAid');
  }
}

/** The source SOP: the shared (or first per-frame) derivation's source image. */
function sourceSop(dataset: Dataset): Dataset {
  const groups = [...itemsOf(dataset.SharedFunctionalGroupsSequence), ...itemsOf(dataset.PerFrameFunctionalGroupsSequence)];
  for (const group of groups) {
    for (const derivation of itemsOf(group.DerivationImageSequence)) {
      const sop = itemsOf(derivation.SourceImageSequence)[0];
      if (sop) return sop;
    }
  }
  return need(itemsOf(dataset.SourceImageSequence)[0], 'DerivationImageSequence or SourceImageSequence naming the source image');
}

function derivationDescription(dataset: Dataset): string | undefined {
  for (const group of itemsOf(dataset.SharedFunctionalGroupsSequence)) {
    for (const derivation of itemsOf(group.DerivationImageSequence)) {
      const description = text(derivation.DerivationDescription);
      if (description) return description;
    }
  }
  return undefined;
}

/** Where a ChestAid heatmap belongs; throws DicomReadError naming what is missing. */
export function readHeatmapReference(source: DatasetSource): HeatmapReference {
  const dataset = naturalize(source);
  checkIsHeatmap(dataset);
  const sop = sourceSop(dataset);
  const sopInstanceUID = need(text(sop.ReferencedSOPInstanceUID), 'ReferencedSOPInstanceUID of the source image');
  const sopClassUID = need(text(sop.ReferencedSOPClassUID), 'ReferencedSOPClassUID of the source image');
  const series = itemsOf(dataset.ReferencedSeriesSequence).find(item =>
    itemsOf(item.ReferencedInstanceSequence).some(instance => text(instance.ReferencedSOPInstanceUID) === sopInstanceUID),
  );
  const seriesInstanceUID = need(text(series?.SeriesInstanceUID), `ReferencedSeriesSequence entry for source image ${sopInstanceUID}`);

  const equipment = need(
    itemsOf(dataset.ContributingEquipmentSequence).find(item => text(item.Manufacturer) === CHESTAID_MANUFACTURER),
    'ChestAid entry in ContributingEquipmentSequence',
  );
  const versions = Array.isArray(equipment.SoftwareVersions) ? equipment.SoftwareVersions.map(String) : [String(equipment.SoftwareVersions ?? '')];
  const deviceUID = text(equipment.DeviceUID);
  if (!isUid(deviceUID)) throw new DicomReadError(`ChestAid heatmap has no valid DeviceUID (got ${JSON.stringify(deviceUID ?? null)})`);
  const calibration =
    calibrationOfSoftwareVersions(versions) ??
    CALIBRATION_MARK.exec(derivationDescription(dataset) ?? '')?.[1];

  const rows = numberOf(dataset.Rows);
  const columns = numberOf(dataset.Columns);
  const frameOfReferenceUID = need(text(dataset.FrameOfReferenceUID), 'FrameOfReferenceUID');
  return {
    sopInstanceUID: need(text(dataset.SOPInstanceUID), 'SOPInstanceUID'),
    seriesInstanceUID: need(text(dataset.SeriesInstanceUID), 'SeriesInstanceUID'),
    source: {
      studyInstanceUID: need(text(dataset.StudyInstanceUID), 'StudyInstanceUID'),
      seriesInstanceUID,
      sopInstanceUID,
      sopClassUID,
    },
    grid: { rows: need(rows, 'Rows'), columns: need(columns, 'Columns') },
    frameOfReferenceUID,
    model: {
      id: need(text(equipment.ManufacturerModelName), 'ManufacturerModelName in Contributing Equipment'),
      version: need(versions[0] || undefined, 'model version (SoftwareVersions value 1)'),
      sha256: need(versions[1] || undefined, 'model sha256 (SoftwareVersions value 2)'),
      deviceUID,
    },
    calibrationVersion: need(calibration, 'calibration version'),
  };
}

function floatBytes(value: unknown): ArrayBuffer | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first instanceof ArrayBuffer || Object.prototype.toString.call(first) === '[object ArrayBuffer]') return first as ArrayBuffer;
  if (ArrayBuffer.isView(first)) return first.buffer.slice(first.byteOffset, first.byteOffset + first.byteLength) as ArrayBuffer;
  return undefined;
}

/** The map values, from Part 10 bytes or a naturalized dataset holding Float Pixel Data. */
export function readHeatmapPixels(source: DatasetSource): GreyImage {
  const dataset = naturalize(source);
  checkIsHeatmap(dataset);
  const rows = need(numberOf(dataset.Rows), 'Rows');
  const columns = need(numberOf(dataset.Columns), 'Columns');
  const bytes = floatBytes(dataset.FloatPixelData);
  if (!bytes) {
    throw new DicomReadError('ChestAid heatmap carries no Float Pixel Data here (DICOM JSON metadata holds a BulkDataURI: retrieve the instance)');
  }
  if (bytes.byteLength !== rows * columns * 4) {
    throw new DicomReadError(`ChestAid heatmap Float Pixel Data holds ${bytes.byteLength} bytes; ${rows} x ${columns} float32 needs ${rows * columns * 4}`);
  }
  return { data: new Float32Array(bytes.slice(0)), width: columns, height: rows };
}
