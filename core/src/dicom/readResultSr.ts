/**
 * Reads a ChestAid result SR back into ChestAidResultContent, from Part 10 bytes, a naturalized
 * dataset or DICOM JSON (WADO-RS metadata: the viewer reads SRs that way, without the bytes).
 * Items are found by concept code anywhere in the tree, not by position, so a PACS or tool that
 * reorders items or a later ChestAid that adds some still reads.
 */
import { CODES, sameCode, type Code } from './codes';
import { findAll, findFirst } from './contentItems';
import {
  CHESTAID_MANUFACTURER,
  RESULT_SR_SERIES_DESCRIPTION,
  SOP_CLASS,
  type ChestAidResultContent,
  type ThresholdDecision,
} from './types';
import {
  DicomReadError,
  instantFromDicomDateTime,
  isUid,
  itemsOf,
  naturalize,
  numberOf,
  single,
  text,
  type Dataset,
  type DatasetSource,
  type SourceImageRef,
} from './values';

const SR_CLASSES = new Set<string>([SOP_CLASS.comprehensiveSr, SOP_CLASS.enhancedSr, SOP_CLASS.comprehensive3dSr]);

const describe = (concept: Code) => `"${concept.CodeMeaning}" (${concept.CodeValue}, ${concept.CodingSchemeDesignator})`;

function isResultContent(dataset: Dataset): boolean {
  return (
    sameCode(itemsOf(dataset.ConceptNameCodeSequence)[0], CODES.imagingMeasurementReport) &&
    findFirst(dataset.ContentSequence, CODES.pneumoniaProbability) !== undefined
  );
}

/**
 * Whether an instance is a ChestAid result SR. With content (Part 10, full metadata) it decides by
 * the document title and the probability item; with a header only (a QIDO-RS row) by SOP class and
 * SeriesDescription (ask QIDO for it: includefield=0008103E), or Manufacturer when that is there.
 */
export function isChestAidResultSr(instance: DatasetSource): boolean {
  let dataset: Dataset;
  try {
    dataset = naturalize(instance);
  } catch {
    return false;
  }
  const sopClass = text(dataset.SOPClassUID);
  if (sopClass !== undefined && !SR_CLASSES.has(sopClass)) return false;
  if (dataset.ContentSequence !== undefined) return sopClass !== undefined && isResultContent(dataset);
  const modality = text(dataset.Modality);
  if (modality !== undefined && modality !== 'SR') return false;
  const description = text(dataset.SeriesDescription);
  const manufacturer = text(dataset.Manufacturer);
  if (description === undefined && manufacturer === undefined) return false;
  return (
    (description === undefined || description === RESULT_SR_SERIES_DESCRIPTION) &&
    (manufacturer === undefined || manufacturer === CHESTAID_MANUFACTURER) &&
    (sopClass !== undefined || modality === 'SR')
  );
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DicomReadError(`ChestAid result SR has no ${what}`);
  return value;
}

/** A NUM item's value: the FD (exact double) when present, else the DS. */
function numValue(group: unknown, concept: Code): number {
  const item = required(findFirst(group, concept), `NUM item ${describe(concept)}`);
  const measured = itemsOf(item.MeasuredValueSequence)[0];
  const value = numberOf(measured?.FloatingPointValue) ?? numberOf(measured?.NumericValue);
  if (value === undefined || !Number.isFinite(value)) {
    throw new DicomReadError(`ChestAid result SR item ${describe(concept)} holds no finite number (got ${JSON.stringify(measured ?? null)})`);
  }
  return value;
}

function textValue(group: unknown, concept: Code): string {
  const item = required(findFirst(group, concept), `TEXT item ${describe(concept)}`);
  return required(text(item.TextValue), `value in TEXT item ${describe(concept)}`);
}

function codeValue(group: unknown, concept: Code): unknown {
  const item = required(findFirst(group, concept), `CODE item ${describe(concept)}`);
  return itemsOf(item.ConceptCodeSequence)[0];
}

/** The source image: the IMAGE item, with its series from the evidence sequence. */
function sourceOf(dataset: Dataset, group: unknown): SourceImageRef {
  const image = required(findFirst(group, CODES.sourceOfMeasurement), `IMAGE item ${describe(CODES.sourceOfMeasurement)}`);
  const ref = itemsOf(image.ReferencedSOPSequence)[0];
  const sopInstanceUID = required(text(ref?.ReferencedSOPInstanceUID), 'ReferencedSOPInstanceUID in the source image reference');
  const sopClassUID = required(text(ref?.ReferencedSOPClassUID), 'ReferencedSOPClassUID in the source image reference');
  for (const study of itemsOf(dataset.CurrentRequestedProcedureEvidenceSequence)) {
    for (const series of itemsOf(study.ReferencedSeriesSequence)) {
      const listed = itemsOf(series.ReferencedSOPSequence).some(sop => text(sop.ReferencedSOPInstanceUID) === sopInstanceUID);
      const seriesInstanceUID = text(series.SeriesInstanceUID);
      const studyInstanceUID = text(study.StudyInstanceUID);
      if (listed && seriesInstanceUID && studyInstanceUID) {
        return { studyInstanceUID, seriesInstanceUID, sopInstanceUID, sopClassUID };
      }
    }
  }
  throw new DicomReadError(`ChestAid result SR lists source image ${sopInstanceUID} in no CurrentRequestedProcedureEvidenceSequence series`);
}

function decisionOf(code: unknown): ThresholdDecision {
  if (sameCode(code, CODES.aboveThreshold)) return 'above';
  if (sameCode(code, CODES.belowThreshold)) return 'below';
  throw new DicomReadError(`ChestAid result SR has an unknown threshold decision code ${JSON.stringify(code ?? null)}`);
}

function deviceUidOf(dataset: Dataset): string {
  const observer = findFirst(dataset.ContentSequence, CODES.deviceObserverUid);
  const fromObserver = text(observer?.UID);
  const fromEquipment = itemsOf(dataset.ContributingEquipmentSequence)
    .map(item => text(item.DeviceUID))
    .find(uid => uid !== undefined);
  const uid = fromObserver ?? fromEquipment;
  if (!isUid(uid)) throw new DicomReadError(`ChestAid result SR has no valid device UID (got ${JSON.stringify(uid ?? null)})`);
  return uid;
}

function observedAtOf(dataset: Dataset, probability: Dataset | undefined): string {
  const fromItem = instantFromDicomDateTime(single(probability?.ObservationDateTime));
  if (fromItem) return fromItem;
  // Fallback for an SR without the item's DT: ContentDate/Time, in the offset the header states.
  const date = text(dataset.ContentDate);
  const time = text(dataset.ContentTime);
  const offset = text(dataset.TimezoneOffsetFromUTC);
  const fromHeader = date && time && offset ? instantFromDicomDateTime(`${date}${time}${offset}`) : undefined;
  return required(fromHeader, 'observation date-time (ObservationDateTime, or ContentDate/Time with TimezoneOffsetFromUTC)');
}

/** Parses a ChestAid result SR; throws DicomReadError saying what is missing when it is not one. */
export function readResultSr(source: DatasetSource): ChestAidResultContent {
  const dataset = naturalize(source);
  const sopClass = text(dataset.SOPClassUID);
  if (!sopClass || !SR_CLASSES.has(sopClass)) {
    throw new DicomReadError(`not a ChestAid result SR: SOP class ${JSON.stringify(sopClass ?? null)} is not a Comprehensive or Enhanced SR`);
  }
  if (!isResultContent(dataset)) {
    throw new DicomReadError(
      `not a ChestAid result SR: ${dataset.ContentSequence === undefined ? 'the dataset has no ContentSequence (a QIDO-RS row? read WADO-RS metadata)' : `no ${describe(CODES.pneumoniaProbability)} item under an Imaging Measurement Report`}`,
    );
  }
  const groups = findAll(dataset.ContentSequence, CODES.measurementGroup).filter(group =>
    findFirst(group.ContentSequence, CODES.pneumoniaProbability),
  );
  if (groups.length !== 1) throw new DicomReadError(`ChestAid result SR holds ${groups.length} pneumonia measurement groups; expected 1`);
  const group = groups[0].ContentSequence;
  const probability = findFirst(group, CODES.pneumoniaProbability);

  return {
    source: sourceOf(dataset, group),
    score: numValue(group, CODES.pneumoniaProbability),
    logit: numValue(group, CODES.modelLogit),
    threshold: numValue(group, CODES.clinicalThreshold),
    decision: decisionOf(codeValue(group, CODES.thresholdDecision)),
    calibration: {
      method: textValue(group, CODES.calibrationMethod),
      version: textValue(group, CODES.calibrationVersion),
    },
    model: {
      id: textValue(group, CODES.algorithmName),
      version: textValue(group, CODES.algorithmVersion),
      sha256: textValue(group, CODES.modelSha256),
      deviceUID: deviceUidOf(dataset),
    },
    observedAt: observedAtOf(dataset, probability),
  };
}
