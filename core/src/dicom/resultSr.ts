/**
 * ChestAid's result as a DICOM SR: TID 1500 (Imaging Measurement Report), written the way IHE AI
 * Results (AIR) asks of an AI result: a device observer that names the algorithm, Contributing
 * Equipment with the device UID, VerificationFlag UNVERIFIED (no person has confirmed it), and
 * references to the image the result is about. The tree, row by row (TID numbers in brackets):
 *
 *   CONTAINER Imaging Measurement Report (126000, DCM)                          [TID 1500]
 *    HAS CONCEPT MOD  CODE Language of Content = English                       [TID 1204]
 *    HAS OBS CONTEXT  CODE Observer Type = Device; UIDREF Device Observer UID;  [TID 1002/1004]
 *                     TEXT Device Observer Name / Manufacturer / Model Name
 *    HAS CONCEPT MOD  CODE Procedure reported = Plain chest X-ray
 *    CONTAINS CONTAINER Image Library > Image Library Group > IMAGE the radiograph [TID 1600]
 *    CONTAINS CONTAINER Imaging Measurements                                    [TID 1500]
 *     CONTAINS CONTAINER Measurement Group                                      [TID 1501]
 *      HAS OBS CONTEXT TEXT Tracking Identifier; UIDREF Tracking Unique Identifier [TID 4108]
 *      CONTAINS CODE Finding = Pneumonia; HAS CONCEPT MOD CODE Finding Site = Lung
 *      HAS CONCEPT MOD TEXT Algorithm Name / Algorithm Version                   [TID 4019]
 *      HAS CONCEPT MOD TEXT Model file SHA-256, Calibration method, Calibration version
 *      CONTAINS IMAGE Source of Measurement -> the radiograph
 *      CONTAINS SCOORD Image Region: the whole image, SELECTED FROM the radiograph [TID 1410]
 *      CONTAINS NUM  Calibrated probability of pneumonia {probability}            [TID 1419]
 *      CONTAINS NUM  Model logit; NUM Clinical decision threshold
 *      CONTAINS CODE Decision against the clinical threshold = above / below
 *      CONTAINS TEXT Comment: decision support, not a diagnosis (and: trained on synthetic data)
 *
 * The algorithm items sit on the group, not under the NUM (where TID 300 would also allow them):
 * OHIF 3.13's SR reader takes any NUM with children for a spatial measurement, finds no SCOORD
 * and drops the NUM, so the score would not show. It shows a NUM without children as
 * "<meaning>: <value, 2 decimals> <unit>", and each Comment as a label.
 *
 * The Image Region is there for OHIF too: 3.13.2 throws ("Cannot read properties of undefined
 * (reading 'ReferencedSOPSequence')", the route's error page) on opening a TID 1500 SR whose
 * measurement group has no SCOORD; with one it opens the SR viewport without that error (seen in
 * Chromium against Orthanc; it reads the NUMs as the region's labels). The whole image is the
 * honest region: the score is about the
 * image, not a part of it. It is left out when the source header has no Rows/Columns.
 */
import { CODES } from './codes';
import { codeItem, container, imageItem, numItem, polylineItem, textItem, uidItem } from './contentItems';
import { calibrationVersionName, contributingEquipment, softwareVersions, srHeader, type DeviceIdentity } from './srDocument';
import {
  CHESTAID_MANUFACTURER,
  RESULT_SR_SERIES_DESCRIPTION,
  RESULT_SR_SERIES_NUMBER,
  type BuiltObject,
  type ChestAidResultContent,
  type ThresholdDecision,
} from './types';
import {
  dicomDateTime,
  isUid,
  naturalize,
  newUid,
  numberOf,
  parseInstant,
  sourceRefOf,
  writePart10,
  type DatasetSource,
} from './values';
import { InputError, show } from '../errors';

export const DECISION_SUPPORT_STATEMENT =
  'ChestAid is decision support, not a diagnosis: the score ranks studies for reading and a ' +
  'radiologist must read the image. VerificationFlag UNVERIFIED: no person has confirmed this result.';
export const SYNTHETIC_DATA_STATEMENT =
  'The model that produced this result was trained on SYNTHETIC data only; it is not validated on real patients.';

export interface ResultSrInput extends Omit<ChestAidResultContent, 'source'> {
  /** The source image's header: naturalized, DICOM JSON (WADO-RS metadata) or Part 10 bytes. */
  readonly source: DatasetSource;
  /** manifest.data.synthetic: adds the synthetic-data statement to the report. */
  readonly trainedOnSyntheticData: boolean;
  /** Defaults: new 2.25 UIDs and the current time. */
  readonly seriesInstanceUID?: string;
  readonly sopInstanceUID?: string;
  readonly createdAt?: Date;
}

const LO_MAX = 64;
const SHA256 = /^[0-9a-f]{64}$/;

function nonEmptyText(name: string, value: unknown, max = LO_MAX): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InputError(`${name} must be a non-empty string, got ${show(value)}`);
  if (value.length > max) throw new InputError(`${name} is longer than ${max} characters: ${show(value)}`);
  if (value.includes('\\')) throw new InputError(`${name} must not contain a backslash (the DICOM value separator): ${show(value)}`);
  return value;
}

function unitInterval(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InputError(`${name} must be a finite number, got ${show(value)}`);
  if (value < 0 || value > 1) throw new InputError(`${name} must lie in [0, 1], got ${show(value)}`);
  return value;
}

/** The model and calibration identity every ChestAid object carries, checked field by field. */
export function checkIdentity(result: Pick<ChestAidResultContent, 'model' | 'calibration'>): void {
  nonEmptyText('calibration method', result.calibration?.method);
  // The name goes into one SoftwareVersions LO after "calibration "; an identity's sha256 into the next.
  const version = nonEmptyText('calibration version', result.calibration?.version, LO_MAX + '+sha256:'.length + 64);
  nonEmptyText('calibration version name', calibrationVersionName(version), LO_MAX - 'calibration '.length);
  nonEmptyText('model id', result.model?.id);
  nonEmptyText('model version', result.model?.version);
  if (typeof result.model?.sha256 !== 'string' || !SHA256.test(result.model.sha256)) {
    throw new InputError(`model sha256 must be 64 lower-case hex digits, got ${show(result.model?.sha256)}`);
  }
  if (!isUid(result.model?.deviceUID)) throw new InputError(`model deviceUID is not a valid UID: ${show(result.model?.deviceUID)}`);
}

/** Every field of a result, checked; the first bad one is named. Returns the normalised instant. */
export function checkResult(result: Omit<ChestAidResultContent, 'source'>): Date {
  const score = unitInterval('score', result.score);
  if (typeof result.logit !== 'number' || !Number.isFinite(result.logit)) {
    throw new InputError(`logit must be a finite number, got ${show(result.logit)}`);
  }
  const threshold = unitInterval('threshold', result.threshold);
  const decision: unknown = result.decision;
  if (decision !== 'above' && decision !== 'below') {
    throw new InputError(`decision must be 'above' or 'below', got ${show(decision)}`);
  }
  // The rule of core/threshold.ts: above iff score >= threshold. A contradiction is a bug upstream.
  const expected: ThresholdDecision = score >= threshold ? 'above' : 'below';
  if (decision !== expected) {
    throw new InputError(`decision ${show(decision)} contradicts score ${score} and threshold ${threshold} (expected ${show(expected)})`);
  }
  checkIdentity(result);
  return parseInstant('observedAt', result.observedAt);
}

export function deviceOf(result: Pick<ChestAidResultContent, 'model' | 'calibration'>): DeviceIdentity {
  return {
    modelId: result.model.id,
    modelVersion: result.model.version,
    sha256: result.model.sha256,
    calibrationVersion: result.calibration.version,
    deviceUID: result.model.deviceUID,
  };
}

/** TID 1002 observer context for ChestAid as a device observer. */
export function deviceObserverContext(device: DeviceIdentity) {
  return [
    codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.device),
    uidItem('HAS OBS CONTEXT', CODES.deviceObserverUid, device.deviceUID),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverName, CHESTAID_MANUFACTURER),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverManufacturer, CHESTAID_MANUFACTURER),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverModelName, `${device.modelId} ${device.modelVersion}`),
  ];
}

/** Builds the result SR; throws InputError naming the first bad field or missing source UID. */
export function buildResultSr(input: ResultSrInput): BuiltObject {
  const observedAt = checkResult(input);
  const sourceDataset = naturalize(input.source);
  const source = sourceRefOf(sourceDataset);
  for (const [name, uid] of [['seriesInstanceUID', input.seriesInstanceUID], ['sopInstanceUID', input.sopInstanceUID]] as const) {
    if (uid !== undefined && !isUid(uid)) throw new InputError(`${name} is not a valid UID: ${show(uid)}`);
  }
  const seriesInstanceUID = input.seriesInstanceUID ?? newUid();
  const sopInstanceUID = input.sopInstanceUID ?? newUid();
  const createdAt = input.createdAt ?? new Date();
  const device = deviceOf(input);
  const observed = dicomDateTime(observedAt).dateTime;

  const algorithm = [
    textItem('HAS CONCEPT MOD', CODES.algorithmName, input.model.id),
    textItem('HAS CONCEPT MOD', CODES.algorithmVersion, input.model.version),
    textItem('HAS CONCEPT MOD', CODES.modelSha256, input.model.sha256),
    textItem('HAS CONCEPT MOD', CODES.calibrationMethod, input.calibration.method),
    textItem('HAS CONCEPT MOD', CODES.calibrationVersion, input.calibration.version),
  ];
  const comments = [textItem('CONTAINS', CODES.comment, DECISION_SUPPORT_STATEMENT)];
  const rows = numberOf(sourceDataset.Rows);
  const columns = numberOf(sourceDataset.Columns);
  const region =
    rows && columns && Number.isInteger(rows) && Number.isInteger(columns)
      ? [polylineItem('CONTAINS', CODES.imageRegion, [0, 0, columns, 0, columns, rows, 0, rows, 0, 0], source.sopClassUID, source.sopInstanceUID)]
      : [];
  if (input.trainedOnSyntheticData) comments.push(textItem('CONTAINS', CODES.comment, SYNTHETIC_DATA_STATEMENT));

  const group = container('CONTAINS', CODES.measurementGroup, [
    textItem('HAS OBS CONTEXT', CODES.trackingIdentifier, 'ChestAid pneumonia risk'),
    uidItem('HAS OBS CONTEXT', CODES.trackingUid, newUid()),
    codeItem('CONTAINS', CODES.finding, CODES.pneumonia),
    codeItem('HAS CONCEPT MOD', CODES.findingSite, CODES.lung),
    ...algorithm,
    imageItem('CONTAINS', CODES.sourceOfMeasurement, source.sopClassUID, source.sopInstanceUID),
    ...region,
    numItem('CONTAINS', CODES.pneumoniaProbability, input.score, CODES.probabilityUnit, { observationDateTime: observed }),
    numItem('CONTAINS', CODES.modelLogit, input.logit, CODES.logitUnit, { observationDateTime: observed }),
    numItem('CONTAINS', CODES.clinicalThreshold, input.threshold, CODES.probabilityUnit),
    codeItem('CONTAINS', CODES.thresholdDecision, input.decision === 'above' ? CODES.aboveThreshold : CODES.belowThreshold),
    ...comments,
  ]);

  const dataset = {
    ...srHeader({
      sourceDataset,
      source,
      seriesInstanceUID,
      sopInstanceUID,
      seriesDescription: RESULT_SR_SERIES_DESCRIPTION,
      seriesNumber: RESULT_SR_SERIES_NUMBER,
      title: CODES.imagingMeasurementReport,
      contentAt: observedAt,
      createdAt,
      completion: 'COMPLETE',
      verification: { VerificationFlag: 'UNVERIFIED' },
      manufacturerModelName: input.model.id,
      softwareVersions: softwareVersions(device),
      contributingEquipment: contributingEquipment(device, createdAt),
      templateIdentifier: '1500',
    }),
    ContentSequence: [
      codeItem('HAS CONCEPT MOD', CODES.languageOfContent, CODES.englishLanguage),
      ...deviceObserverContext(device),
      codeItem('HAS CONCEPT MOD', CODES.procedureReported, CODES.plainChestXray),
      container('CONTAINS', CODES.imageLibrary, [
        container('CONTAINS', CODES.imageLibraryGroup, [imageItem('CONTAINS', undefined, source.sopClassUID, source.sopInstanceUID)]),
      ]),
      container('CONTAINS', CODES.imagingMeasurements, [group]),
    ],
  };
  return { part10: writePart10(dataset), dataset, sopInstanceUID, seriesInstanceUID };
}
