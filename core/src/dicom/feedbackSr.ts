/**
 * The radiologist's ground truth on an image ChestAid scored (issue 8), as a Comprehensive SR
 * beside the result SR in the same study:
 *
 *   CONTAINER ChestAid reader feedback (CA0015, 99CHESTAID)
 *    HAS CONCEPT MOD  CODE Language of Content = English
 *    HAS OBS CONTEXT  CODE Observer Type = Person; PNAME Person Observer Name     [TID 1003]
 *    HAS CONCEPT MOD  CODE Procedure reported = Plain chest X-ray
 *    CONTAINS CODE Reader ground truth = Pneumonia (SCT) / No pneumonia / Reader unsure
 *    CONTAINS TEXT Comment (when given)
 *    CONTAINS IMAGE Source of Measurement -> the radiograph
 *    CONTAINS COMPOSITE ChestAid result assessed -> the result SR
 *    CONTAINS NUM Calibrated probability of pneumonia (the score the reader saw, DS + FD)
 *    CONTAINS TEXT Algorithm Name / Version, Model file SHA-256, Calibration version
 *
 * VerificationFlag VERIFIED, with the reader as VerifyingObserver: unlike ChestAid's own result,
 * this is a person's attested statement, and PS3.3 C.17.2 defines VERIFIED as exactly that. The
 * model identity and score are copied in so that monitoring can count the feedback even when the
 * result SR is gone or was never stored (the browser-only path).
 */
import { CODES, sameCode, type Code } from './codes';
import { codeItem, findFirst, imageItem, numItem, textItem } from './contentItems';
import { checkIdentity } from './resultSr';
import { readResultSr } from './readResultSr';
import { contributingEquipment, softwareVersions, srHeader } from './srDocument';
import { SOP_CLASS, type BuiltObject, type ChestAidResultContent } from './types';
import {
  DicomReadError,
  dicomDateTime,
  instantFromDicomDateTime,
  isUid,
  itemsOf,
  naturalize,
  newUid,
  numberOf,
  parseInstant,
  single,
  sourceRefOf,
  text,
  writePart10,
  type Dataset,
  type DatasetSource,
} from './values';
import { InputError, show } from '../errors';

export type GroundTruth = 'pneumonia' | 'normal' | 'unsure';
export const FEEDBACK_SR_SERIES_DESCRIPTION = 'ChestAid reader feedback';
export const FEEDBACK_SR_SERIES_NUMBER = 9003;

const GROUND_TRUTH_CODES: Record<GroundTruth, Code> = {
  pneumonia: CODES.pneumonia,
  normal: CODES.groundTruthNormal,
  unsure: CODES.groundTruthUnsure,
};

const PERSON_OBSERVER_NAME = { CodeValue: '121008', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Person Observer Name' } as const;

export interface Reader {
  /** DICOM person name, e.g. "Doe^Jane". */
  readonly name: string;
  readonly organization: string;
}

export interface FeedbackSrInput {
  /** The source image's header (for patient and study): naturalized, DICOM JSON or Part 10. */
  readonly source: DatasetSource;
  /** The result SR the reader answered: its UIDs and its content (readResultSr's output). */
  readonly result: { readonly sopInstanceUID: string; readonly seriesInstanceUID: string; readonly content: ChestAidResultContent };
  readonly groundTruth: GroundTruth;
  readonly comment?: string;
  readonly reader: Reader;
  readonly recordedAt: string | Date;
  readonly seriesInstanceUID?: string;
  readonly sopInstanceUID?: string;
}

export interface ChestAidFeedbackContent {
  readonly source: ChestAidResultContent['source'];
  readonly result: { readonly sopInstanceUID: string; readonly seriesInstanceUID: string };
  readonly groundTruth: GroundTruth;
  readonly comment?: string;
  readonly reader: Reader;
  readonly recordedAt: string;
  readonly score: number;
  readonly model: ChestAidResultContent['model'];
  readonly calibration: ChestAidResultContent['calibration'];
}

function personName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 64 || name.includes('\\')) {
    throw new InputError(`reader name must be a DICOM person name of 1 to 64 characters, got ${show(name)}`);
  }
  return name;
}

const pnameItem = (name: string): Dataset => ({
  RelationshipType: 'HAS OBS CONTEXT',
  ValueType: 'PNAME',
  ConceptNameCodeSequence: [{ ...PERSON_OBSERVER_NAME }],
  PersonName: name,
});

export function buildFeedbackSr(input: FeedbackSrInput): BuiltObject {
  const { content } = input.result;
  const groundTruth: unknown = input.groundTruth;
  if (groundTruth !== 'pneumonia' && groundTruth !== 'normal' && groundTruth !== 'unsure') {
    throw new InputError(`ground truth must be 'pneumonia', 'normal' or 'unsure', got ${show(groundTruth)}`);
  }
  if (input.comment !== undefined && typeof input.comment !== 'string') throw new InputError(`comment must be a string, got ${show(input.comment)}`);
  const readerName = personName(input.reader?.name);
  const organization = input.reader?.organization;
  if (typeof organization !== 'string' || organization.trim() === '' || organization.length > 64) {
    throw new InputError(`reader organization must be 1 to 64 characters, got ${show(organization)}`);
  }
  for (const [name, uid] of [['result sopInstanceUID', input.result?.sopInstanceUID], ['result seriesInstanceUID', input.result?.seriesInstanceUID]] as const) {
    if (!isUid(uid)) throw new InputError(`${name} is not a valid UID: ${show(uid)}`);
  }
  checkIdentity(content);
  if (!(content.score >= 0 && content.score <= 1)) throw new InputError(`result score must lie in [0, 1], got ${show(content.score)}`);
  const recordedAt = parseInstant('recordedAt', input.recordedAt);
  const sourceDataset = naturalize(input.source);
  const source = sourceRefOf(sourceDataset);
  if (source.sopInstanceUID !== content.source.sopInstanceUID) {
    throw new InputError(`the result is about image ${content.source.sopInstanceUID}, not the source given (${source.sopInstanceUID})`);
  }
  const seriesInstanceUID = input.seriesInstanceUID ?? newUid();
  const sopInstanceUID = input.sopInstanceUID ?? newUid();
  const at = dicomDateTime(recordedAt).dateTime;
  const device = {
    modelId: content.model.id,
    modelVersion: content.model.version,
    sha256: content.model.sha256,
    calibrationVersion: content.calibration.version,
    deviceUID: content.model.deviceUID,
  };

  const dataset: Dataset = {
    ...srHeader({
      sourceDataset,
      source,
      seriesInstanceUID,
      sopInstanceUID,
      seriesDescription: FEEDBACK_SR_SERIES_DESCRIPTION,
      seriesNumber: FEEDBACK_SR_SERIES_NUMBER,
      title: CODES.chestAidFeedbackReport,
      contentAt: recordedAt,
      createdAt: recordedAt,
      completion: 'COMPLETE',
      verification: {
        VerificationFlag: 'VERIFIED',
        VerifyingObserverSequence: [
          {
            VerifyingObserverName: readerName,
            VerifyingObserverIdentificationCodeSequence: [],
            VerifyingOrganization: organization,
            VerificationDateTime: at,
          },
        ],
      },
      manufacturerModelName: 'ChestAid reader feedback',
      softwareVersions: softwareVersions(device),
      // The equipment whose result the reader assessed.
      contributingEquipment: contributingEquipment(device, recordedAt),
    }),
    PertinentOtherEvidenceSequence: [
      {
        StudyInstanceUID: source.studyInstanceUID,
        ReferencedSeriesSequence: [
          {
            SeriesInstanceUID: input.result.seriesInstanceUID,
            ReferencedSOPSequence: [{ ReferencedSOPClassUID: SOP_CLASS.comprehensiveSr, ReferencedSOPInstanceUID: input.result.sopInstanceUID }],
          },
        ],
      },
    ],
    ContentSequence: [
      codeItem('HAS CONCEPT MOD', CODES.languageOfContent, CODES.englishLanguage),
      codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.person),
      pnameItem(readerName),
      codeItem('HAS CONCEPT MOD', CODES.procedureReported, CODES.plainChestXray),
      { ...codeItem('CONTAINS', CODES.readerGroundTruth, GROUND_TRUTH_CODES[groundTruth as GroundTruth]), ObservationDateTime: at },
      ...(input.comment ? [textItem('CONTAINS', CODES.comment, input.comment)] : []),
      imageItem('CONTAINS', CODES.sourceOfMeasurement, source.sopClassUID, source.sopInstanceUID),
      {
        RelationshipType: 'CONTAINS',
        ValueType: 'COMPOSITE',
        ConceptNameCodeSequence: [{ ...CODES.chestAidResultReference }],
        ReferencedSOPSequence: [{ ReferencedSOPClassUID: SOP_CLASS.comprehensiveSr, ReferencedSOPInstanceUID: input.result.sopInstanceUID }],
      },
      numItem('CONTAINS', CODES.pneumoniaProbability, content.score, CODES.probabilityUnit),
      textItem('CONTAINS', CODES.algorithmName, content.model.id),
      textItem('CONTAINS', CODES.algorithmVersion, content.model.version),
      textItem('CONTAINS', CODES.modelSha256, content.model.sha256),
      textItem('CONTAINS', CODES.calibrationMethod, content.calibration.method),
      textItem('CONTAINS', CODES.calibrationVersion, content.calibration.version),
    ],
  };
  return { part10: writePart10(dataset), dataset, sopInstanceUID, seriesInstanceUID };
}

function textOf(dataset: Dataset, concept: Code): string {
  const value = text(findFirst(dataset.ContentSequence, concept)?.TextValue);
  if (value === undefined) throw new DicomReadError(`ChestAid feedback SR has no TEXT item "${concept.CodeMeaning}"`);
  return value;
}

/** A PN value as text, whether naturalized as a string or as {Alphabetic} groups. */
function personNameText(value: unknown): string | undefined {
  const v = single(value);
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { Alphabetic?: unknown }).Alphabetic === 'string') return (v as { Alphabetic: string }).Alphabetic;
  return undefined;
}

export function isChestAidFeedbackSr(instance: DatasetSource): boolean {
  try {
    const dataset = naturalize(instance);
    return sameCode(itemsOf(dataset.ConceptNameCodeSequence)[0], CODES.chestAidFeedbackReport);
  } catch {
    return false;
  }
}

/** Parses a ChestAid feedback SR; throws DicomReadError saying what is missing when it is not one. */
export function readFeedbackSr(source: DatasetSource): ChestAidFeedbackContent {
  const dataset = naturalize(source);
  if (!isChestAidFeedbackSr(dataset)) {
    throw new DicomReadError('not a ChestAid feedback SR: the document title is not "ChestAid reader feedback" (CA0015, 99CHESTAID)');
  }
  const items = dataset.ContentSequence;
  const truthCode = itemsOf(findFirst(items, CODES.readerGroundTruth)?.ConceptCodeSequence)[0];
  const groundTruth = (Object.keys(GROUND_TRUTH_CODES) as GroundTruth[]).find(key => sameCode(truthCode, GROUND_TRUTH_CODES[key]));
  if (!groundTruth) throw new DicomReadError(`ChestAid feedback SR has an unknown ground truth code ${JSON.stringify(truthCode ?? null)}`);

  const composite = itemsOf(findFirst(items, CODES.chestAidResultReference)?.ReferencedSOPSequence)[0];
  const resultSop = text(composite?.ReferencedSOPInstanceUID);
  const resultSeries = itemsOf(dataset.PertinentOtherEvidenceSequence)
    .flatMap(study => itemsOf(study.ReferencedSeriesSequence))
    .find(series => itemsOf(series.ReferencedSOPSequence).some(sop => text(sop.ReferencedSOPInstanceUID) === resultSop));
  if (!resultSop || !text(resultSeries?.SeriesInstanceUID)) throw new DicomReadError('ChestAid feedback SR does not reference the result SR it answers');

  const image = itemsOf(findFirst(items, CODES.sourceOfMeasurement)?.ReferencedSOPSequence)[0];
  const evidence = itemsOf(dataset.CurrentRequestedProcedureEvidenceSequence)[0];
  const series = itemsOf(evidence?.ReferencedSeriesSequence)[0];
  const verifier = itemsOf(dataset.VerifyingObserverSequence)[0];
  const measured = itemsOf(findFirst(items, CODES.pneumoniaProbability)?.MeasuredValueSequence)[0];
  const score = numberOf(measured?.FloatingPointValue) ?? numberOf(measured?.NumericValue);
  const recordedAt = instantFromDicomDateTime(single(findFirst(items, CODES.readerGroundTruth)?.ObservationDateTime));
  const equipment = itemsOf(dataset.ContributingEquipmentSequence)[0];
  const fields = {
    sopInstanceUID: text(image?.ReferencedSOPInstanceUID),
    sopClassUID: text(image?.ReferencedSOPClassUID),
    studyInstanceUID: text(evidence?.StudyInstanceUID),
    seriesInstanceUID: text(series?.SeriesInstanceUID),
    readerName: personNameText(verifier?.VerifyingObserverName),
    organization: text(verifier?.VerifyingOrganization),
    score,
    recordedAt,
    deviceUID: text(equipment?.DeviceUID),
  };
  const missing = Object.entries(fields).filter(([, value]) => value === undefined).map(([key]) => key);
  if (missing.length) throw new DicomReadError(`ChestAid feedback SR lacks ${missing.join(', ')}`);
  const comment = text(findFirst(items, CODES.comment)?.TextValue);
  return {
    source: {
      studyInstanceUID: fields.studyInstanceUID!,
      seriesInstanceUID: fields.seriesInstanceUID!,
      sopInstanceUID: fields.sopInstanceUID!,
      sopClassUID: fields.sopClassUID!,
    },
    result: { sopInstanceUID: resultSop, seriesInstanceUID: text(resultSeries!.SeriesInstanceUID)! },
    groundTruth,
    ...(comment !== undefined ? { comment } : {}),
    reader: { name: fields.readerName!, organization: fields.organization! },
    recordedAt: fields.recordedAt!,
    score: fields.score!,
    model: {
      id: textOf(dataset, CODES.algorithmName),
      version: textOf(dataset, CODES.algorithmVersion),
      sha256: textOf(dataset, CODES.modelSha256),
      deviceUID: fields.deviceUID!,
    },
    calibration: { method: textOf(dataset, CODES.calibrationMethod), version: textOf(dataset, CODES.calibrationVersion) },
  };
}

/** The result content a feedback SR answers, from the result SR itself (convenience for callers). */
export function resultForFeedback(resultSr: DatasetSource): FeedbackSrInput['result'] {
  const dataset = naturalize(resultSr);
  const content = readResultSr(dataset);
  return { sopInstanceUID: text(dataset.SOPInstanceUID)!, seriesInstanceUID: text(dataset.SeriesInstanceUID)!, content };
}
