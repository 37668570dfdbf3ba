/**
 * The QIDO-RS attributes the worker reads, by tag (PS3.18 F.2 DICOM JSON), and what it asks for.
 */
import type { DicomJson } from '@chestaid/core';

export const TAG = Object.freeze({
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SOPInstanceUID: '00080018',
  SOPClassUID: '00080016',
  Modality: '00080060',
  ModalitiesInStudy: '00080061',
  SeriesDescription: '0008103E',
  NumberOfStudyRelatedInstances: '00201208',
  NumberOfSeriesRelatedInstances: '00201209',
  StudyDate: '00080020',
});

export function values(dataset: DicomJson | undefined, tag: string): string[] {
  const list = dataset?.[tag]?.Value ?? [];
  return list.filter(v => v !== null && v !== undefined).map(v => String(v).trim());
}

export function value(dataset: DicomJson | undefined, tag: string): string | undefined {
  return values(dataset, tag)[0];
}
