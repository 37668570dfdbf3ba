/**
 * Every coded concept ChestAid writes into DICOM, in one table. Standard codes come from DICOM
 * PS3.16 (DCM), SNOMED CT (SCT), UCUM and RFC 5646 wherever one exists for the meaning. Where none
 * does (a calibrated probability of a model, its operating threshold, the decision against it, the
 * model file's hash) the code is private under the coding scheme designator "99CHESTAID": PS3.3
 * 8.2 reserves designators starting with "99" for local schemes, and CodingSchemeIdentification
 * in each object names it, so a reader meeting 99CHESTAID can find out what it is.
 *
 * Readers match codes by (CodeValue, CodingSchemeDesignator), never by meaning: a meaning may be
 * reworded without changing what the code is.
 */

export interface Code {
  readonly CodeValue: string;
  readonly CodingSchemeDesignator: string;
  readonly CodeMeaning: string;
}

const code = (CodeValue: string, CodingSchemeDesignator: string, CodeMeaning: string): Code =>
  Object.freeze({ CodeValue, CodingSchemeDesignator, CodeMeaning });

export const PRIVATE_SCHEME = '99CHESTAID';

/** The private scheme's identification, for CodingSchemeIdentificationSequence (PS3.3 C.12.1.1.3). */
export const PRIVATE_SCHEME_IDENTIFICATION = Object.freeze({
  CodingSchemeDesignator: PRIVATE_SCHEME,
  CodingSchemeName: 'ChestAid private codes',
  CodingSchemeResponsibleOrganization: 'ChestAid project',
});

export const CODES = Object.freeze({
  // TID 1500 document title and structure (PS3.16).
  imagingMeasurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  // TID 1204 language.
  languageOfContent: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  englishLanguage: code('en', 'RFC5646', 'English'),
  // TID 1001/1004 observation context: a device observer.
  observerType: code('121005', 'DCM', 'Observer Type'),
  device: code('121007', 'DCM', 'Device'),
  person: code('121006', 'DCM', 'Person'),
  deviceObserverUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: code('121013', 'DCM', 'Device Observer Name'),
  deviceObserverManufacturer: code('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceObserverModelName: code('121015', 'DCM', 'Device Observer Model Name'),
  personObserverName: code('121008', 'DCM', 'Person Observer Name'),
  // TID 1500 row 3: what was reported on.
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  plainChestXray: code('399208008', 'SCT', 'Plain chest X-ray'),
  // TID 1501 measurement group contents.
  trackingIdentifier: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUid: code('112040', 'DCM', 'Tracking Unique Identifier'),
  finding: code('121071', 'DCM', 'Finding'),
  pneumonia: code('233604007', 'SCT', 'Pneumonia'),
  findingSite: code('363698007', 'SCT', 'Finding Site'),
  lung: code('39607008', 'SCT', 'Lung structure'),
  sourceOfMeasurement: code('121112', 'DCM', 'Source of Measurement'),
  // TID 1410 planar ROI: the region the measurement is about (here the whole image).
  imageRegion: code('111030', 'DCM', 'Image Region'),
  // TID 1600 image library.
  imageLibrary: code('111028', 'DCM', 'Image Library'),
  imageLibraryGroup: code('126200', 'DCM', 'Image Library Group'),
  comment: code('121106', 'DCM', 'Comment'),
  // TID 4019 algorithm identification.
  algorithmName: code('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: code('111003', 'DCM', 'Algorithm Version'),
  // Contributing Equipment purpose (CID 7005).
  processingEquipment: code('109102', 'DCM', 'Processing Equipment'),
  // Units (UCUM): dimensionless quantities, annotated so a reader sees what the number is.
  probabilityUnit: code('{probability}', 'UCUM', 'probability'),
  logitUnit: code('{logit}', 'UCUM', 'logit'),

  // Private codes (no standard code carries these meanings).
  pneumoniaProbability: code('CA0001', PRIVATE_SCHEME, 'Calibrated probability of pneumonia'),
  modelLogit: code('CA0002', PRIVATE_SCHEME, 'Model logit before calibration'),
  clinicalThreshold: code('CA0003', PRIVATE_SCHEME, 'Clinical decision threshold'),
  thresholdDecision: code('CA0004', PRIVATE_SCHEME, 'Decision against the clinical threshold'),
  aboveThreshold: code('CA0005', PRIVATE_SCHEME, 'At or above the clinical threshold: read first'),
  belowThreshold: code('CA0006', PRIVATE_SCHEME, 'Below the clinical threshold'),
  calibrationMethod: code('CA0007', PRIVATE_SCHEME, 'Calibration method'),
  calibrationVersion: code('CA0008', PRIVATE_SCHEME, 'Calibration version'),
  modelSha256: code('CA0009', PRIVATE_SCHEME, 'Model file SHA-256'),
  gradCam: code('CA0010', PRIVATE_SCHEME, 'Normalised Grad-CAM attention'),
  // Issue 8: the reader's ground truth on an image ChestAid scored.
  readerGroundTruth: code('CA0011', PRIVATE_SCHEME, 'Reader ground truth'),
  groundTruthNormal: code('CA0012', PRIVATE_SCHEME, 'No pneumonia'),
  groundTruthUnsure: code('CA0013', PRIVATE_SCHEME, 'Reader unsure'),
  chestAidResultReference: code('CA0014', PRIVATE_SCHEME, 'ChestAid result assessed'),
  chestAidFeedbackReport: code('CA0015', PRIVATE_SCHEME, 'ChestAid reader feedback'),
  // The heatmap as segments (attention bands), for viewers that show SEG but not Parametric Maps.
  aiAttention: code('CA0016', PRIVATE_SCHEME, 'AI attention'),
  attentionBand: code('CA0017', PRIVATE_SCHEME, 'Grad-CAM attention at or above a level'),
});

export type CodeName = keyof typeof CODES;

/** True when `item` (a naturalized code sequence item) is `expected`, by value and scheme. */
export function sameCode(item: unknown, expected: Code): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const { CodeValue, CodingSchemeDesignator } = item as Partial<Code>;
  return CodeValue === expected.CodeValue && CodingSchemeDesignator === expected.CodingSchemeDesignator;
}
