/**
 * The header every ChestAid SR shares (PS3.3 A.35.3, Comprehensive SR IOD): patient and study
 * copied from the source image, a new SR series and instance, the document title, evidence and
 * the equipment that made it. The result SR and the feedback SR differ only in content and flags.
 */
import { CODES, PRIVATE_SCHEME_IDENTIFICATION, type Code } from './codes';
import { CHESTAID_MANUFACTURER, SOP_CLASS } from './types';
import { dicomDateTime, derivedInstanceHeader, type Dataset, type SourceImageRef } from './values';

/** The device entry of Contributing Equipment (PS3.3 C.12.1.1.5): who made the object. */
export interface DeviceIdentity {
  readonly modelId: string;
  readonly modelVersion: string;
  readonly sha256: string;
  readonly calibrationVersion: string;
  readonly deviceUID: string;
}

const IDENTITY = /^(.+)\+sha256:([0-9a-f]{64})$/;

/** The name part of a calibration identity ("site-1" of "site-1+sha256:<hex>"); a bare version as is. */
export function calibrationVersionName(version: string): string {
  return IDENTITY.exec(version)?.[1] ?? version;
}

/**
 * SoftwareVersions, in this order: model version, model file SHA-256 (hex, 64 characters: exactly
 * an LO's limit), "calibration <version name>", then the calibration's SHA-256 (hex) when the
 * version is an identity ("site-1+sha256:<hex>", too long for one LO). A worker can tell from the
 * header alone (WADO-RS metadata) whether an object was made by the same model and calibration.
 */
export function softwareVersions(device: DeviceIdentity): string[] {
  const identity = IDENTITY.exec(device.calibrationVersion);
  if (!identity) return [device.modelVersion, device.sha256, `calibration ${device.calibrationVersion}`];
  return [device.modelVersion, device.sha256, `calibration ${identity[1]}`, identity[2]];
}

/** The calibration version (identity when it has one) from softwareVersions' values, or undefined. */
export function calibrationOfSoftwareVersions(versions: readonly string[]): string | undefined {
  const at = versions.findIndex(v => v.startsWith('calibration '));
  if (at < 0) return undefined;
  const name = versions[at].slice('calibration '.length);
  const hash = versions[at + 1];
  return hash !== undefined && /^[0-9a-f]{64}$/.test(hash) ? `${name}+sha256:${hash}` : name;
}

export function contributingEquipment(device: DeviceIdentity, at: Date): Dataset[] {
  return [
    {
      Manufacturer: CHESTAID_MANUFACTURER,
      ManufacturerModelName: device.modelId,
      SoftwareVersions: softwareVersions(device),
      DeviceUID: device.deviceUID,
      ContributionDateTime: dicomDateTime(at).dateTime,
      ContributionDescription: 'Pneumonia risk score and Grad-CAM by the ChestAid model',
      PurposeOfReferenceCodeSequence: [{ ...CODES.processingEquipment }],
    },
  ];
}

/**
 * The frame of reference and equipment of an image ChestAid derives from a source image (the
 * heatmap's Parametric Map and SEG): the source's frame when it has patient coordinates, else a
 * new one (`sharesSourceFrame` false); ChestAid as manufacturer, the model as model name, its
 * device UID as serial number. No ReferencedPerformedProcedureStepSequence: the series module
 * requires it (1C) only when an MPPS was used, and ChestAid uses none; present but empty is an
 * error (the SR's is Type 2).
 */
export function derivedImageEquipment(
  device: DeviceIdentity,
  createdAt: Date,
  source: { readonly dataset: Dataset; readonly frameOfReferenceUID: string; readonly sharesSourceFrame: boolean },
): Dataset {
  return {
    FrameOfReferenceUID: source.frameOfReferenceUID,
    PositionReferenceIndicator: source.sharesSourceFrame ? (source.dataset.PositionReferenceIndicator ?? '') : '',
    Manufacturer: CHESTAID_MANUFACTURER,
    ManufacturerModelName: device.modelId,
    DeviceSerialNumber: device.deviceUID,
    SoftwareVersions: softwareVersions(device),
    ContributingEquipmentSequence: contributingEquipment(device, createdAt),
  };
}

export interface SrHeaderInput {
  readonly sourceDataset: Dataset;
  readonly source: SourceImageRef;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
  readonly seriesDescription: string;
  readonly seriesNumber: number;
  readonly title: Code;
  /** When the content was made (ContentDate/Time) and when the object was (InstanceCreation...). */
  readonly contentAt: Date;
  readonly createdAt: Date;
  readonly completion: 'COMPLETE' | 'PARTIAL';
  readonly verification: Dataset;
  readonly manufacturerModelName: string;
  readonly softwareVersions: string[];
  readonly contributingEquipment: Dataset[];
  readonly templateIdentifier?: string;
}

export function srHeader(input: SrHeaderInput): Dataset {
  const { source } = input;
  const content = dicomDateTime(input.contentAt);
  const created = dicomDateTime(input.createdAt);
  return {
    ...derivedInstanceHeader(SOP_CLASS.comprehensiveSr, input.sopInstanceUID, created, input.sourceDataset, source.studyInstanceUID),
    Modality: 'SR',
    SeriesInstanceUID: input.seriesInstanceUID,
    SeriesNumber: input.seriesNumber,
    SeriesDate: created.date,
    SeriesTime: created.time,
    SeriesDescription: input.seriesDescription,
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: CHESTAID_MANUFACTURER,
    ManufacturerModelName: input.manufacturerModelName,
    SoftwareVersions: input.softwareVersions,
    InstanceNumber: 1,
    ContentDate: content.date,
    ContentTime: content.time,
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [{ ...input.title }],
    ContinuityOfContent: 'SEPARATE',
    ...(input.templateIdentifier
      ? { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: input.templateIdentifier }] }
      : {}),
    CompletionFlag: input.completion,
    ...input.verification,
    PerformedProcedureCodeSequence: [{ ...CODES.plainChestXray }],
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: source.studyInstanceUID,
        ReferencedSeriesSequence: [
          {
            SeriesInstanceUID: source.seriesInstanceUID,
            ReferencedSOPSequence: [
              { ReferencedSOPClassUID: source.sopClassUID, ReferencedSOPInstanceUID: source.sopInstanceUID },
            ],
          },
        ],
      },
    ],
    CodingSchemeIdentificationSequence: [{ ...PRIVATE_SCHEME_IDENTIFICATION }],
    ContributingEquipmentSequence: input.contributingEquipment,
  };
}
