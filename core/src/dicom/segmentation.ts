/**
 * The heatmap as a BINARY DICOM Segmentation (PS3.3 A.51): one segment per attention band
 * ("Grad-CAM >= 0.25", ">= 0.50", ">= 0.75" by default), nested regions that a viewer colours
 * like a coarse heatmap. For viewers that show SEG but not Parametric Maps (for one,
 * OHIF before its PMAP extension); FRACTIONAL SEG would keep the values but OHIF 3.13 refuses it.
 * In stock OHIF 3.13.2 both forms display over the radiograph (seen in Chromium against Orthanc).
 * The Parametric Map stays the exact record; the SEG is for display. Geometry and references are
 * the Parametric Map's (same grid as the source, DerivationImageSequence per frame,
 * ReferencedSeriesSequence, the source's frame of reference or a new one).
 */
import dcmjs from 'dcmjs';

import { InputError, show } from '../errors';
import { CODES, PRIVATE_SCHEME_IDENTIFICATION } from './codes';
import { checkCam, mapOnGrid, sourcePlane, type HeatmapInput } from './parametricMap';
import { checkIdentity, deviceOf } from './resultSr';
import { derivedImageEquipment } from './srDocument';
import type { BuiltObject } from './types';
import { dicomDateTime, isUid, naturalize, newUid, numberOf, derivedInstanceHeader, single, sourceRefOf, writePart10, type Dataset } from './values';

const { BitArray, Colors } = dcmjs.data;

export const SEGMENTATION_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';
export const HEATMAP_SEG_SERIES_DESCRIPTION = 'ChestAid Grad-CAM attention (SEG)';
export const HEATMAP_SEG_SERIES_NUMBER = 9004;
export const DEFAULT_ATTENTION_LEVELS: readonly number[] = [0.25, 0.5, 0.75];

/** Band colours, weakest to strongest (sRGB 0..1): the overlay's dark-violet-to-yellow ramp. */
const BAND_COLOURS: readonly [number, number, number][] = [
  [0.34, 0.06, 0.43],
  [0.87, 0.32, 0.23],
  [0.99, 0.91, 0.15],
];

const SOURCE_IMAGE_FOR_PROCESSING = { CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation' };

export interface HeatmapSegmentationInput extends Omit<HeatmapInput, 'grid'> {
  /** Increasing levels in (0, 1]; each becomes the segment "attention >= level". */
  readonly levels?: readonly number[];
}

const labelOf = (level: number) => `Grad-CAM >= ${level.toFixed(2)}`;

function checkLevels(levels: readonly number[]): void {
  if (!Array.isArray(levels) || levels.length === 0 || levels.length > BAND_COLOURS.length) {
    throw new InputError(`levels must list 1 to ${BAND_COLOURS.length} values, got ${show(levels)}`);
  }
  levels.forEach((level, i) => {
    if (!(level > 0 && level <= 1)) throw new InputError(`attention level ${show(level)} must lie in (0, 1]`);
    if (i > 0 && !(level > levels[i - 1])) throw new InputError(`attention levels must increase, got ${show(levels)}`);
  });
}

export function buildHeatmapSegmentation(input: HeatmapSegmentationInput): BuiltObject {
  const levels = input.levels ?? DEFAULT_ATTENTION_LEVELS;
  checkLevels(levels);
  checkCam(input.cam);
  checkIdentity(input);
  const device = deviceOf(input);
  const sourceDataset = naturalize(input.source);
  const source = sourceRefOf(sourceDataset);
  const rows = numberOf(sourceDataset.Rows);
  const columns = numberOf(sourceDataset.Columns);
  if (!rows || !Number.isInteger(rows) || !columns || !Number.isInteger(columns)) {
    throw new InputError(`source Rows and Columns must be positive integers, got ${show(single(sourceDataset.Rows))} x ${show(single(sourceDataset.Columns))}`);
  }
  for (const [name, uid] of [['seriesInstanceUID', input.seriesInstanceUID], ['sopInstanceUID', input.sopInstanceUID]] as const) {
    if (uid !== undefined && !isUid(uid)) throw new InputError(`${name} is not a valid UID: ${show(uid)}`);
  }

  const map = mapOnGrid(input.cam, { rows, columns });
  const { plane, frameOfReferenceUID: sourceFrame } = sourcePlane(sourceDataset, rows, columns);
  const frameSize = rows * columns;
  const bits = new Uint8Array(frameSize * levels.length);
  levels.forEach((level, f) => {
    for (let i = 0; i < frameSize; i++) bits[f * frameSize + i] = map.data[i] >= level ? 1 : 0;
  });

  const seriesInstanceUID = input.seriesInstanceUID ?? newUid();
  const sopInstanceUID = input.sopInstanceUID ?? newUid();
  const createdAt = input.createdAt ?? new Date();
  const created = dicomDateTime(createdAt);
  const sourceReference = { ReferencedSOPClassUID: source.sopClassUID, ReferencedSOPInstanceUID: source.sopInstanceUID };
  const organisation = newUid();

  const dataset: Dataset = {
    _vrMap: { PixelData: 'OB' },
    ...derivedInstanceHeader(SEGMENTATION_SOP_CLASS, sopInstanceUID, created, sourceDataset, source.studyInstanceUID),
    Modality: 'SEG',
    SeriesInstanceUID: seriesInstanceUID,
    SeriesNumber: HEATMAP_SEG_SERIES_NUMBER,
    SeriesDate: created.date,
    SeriesTime: created.time,
    SeriesDescription: HEATMAP_SEG_SERIES_DESCRIPTION,
    ...derivedImageEquipment(device, createdAt, {
      dataset: sourceDataset,
      frameOfReferenceUID: sourceFrame ?? newUid(),
      sharesSourceFrame: sourceFrame !== undefined,
    }),
    ImageType: ['DERIVED', 'PRIMARY'],
    InstanceNumber: 1,
    ContentLabel: 'ATTENTION',
    ContentDescription: 'ChestAid Grad-CAM attention bands',
    ContentCreatorName: '',
    ContentDate: created.date,
    ContentTime: created.time,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    NumberOfFrames: levels.length,
    SourceImageSequence: [{ ...sourceReference }],
    ReferencedSeriesSequence: [{ SeriesInstanceUID: source.seriesInstanceUID, ReferencedInstanceSequence: [{ ...sourceReference }] }],
    CodingSchemeIdentificationSequence: [{ ...PRIVATE_SCHEME_IDENTIFICATION }],
    SegmentSequence: levels.map((level, i) => ({
      SegmentNumber: i + 1,
      SegmentLabel: labelOf(level),
      SegmentDescription: `Normalised Grad-CAM attention at or above ${level} (decision support, not a finding)`,
      SegmentAlgorithmType: 'AUTOMATIC',
      SegmentAlgorithmName: `${input.model.id} ${input.model.version} Grad-CAM`,
      SegmentedPropertyCategoryCodeSequence: [{ ...CODES.aiAttention }],
      SegmentedPropertyTypeCodeSequence: [{ ...CODES.attentionBand }],
      RecommendedDisplayCIELabValue: Colors.rgb2DICOMLAB(BAND_COLOURS[i]).map(Math.round),
    })),
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: organisation }],
    DimensionIndexSequence: [
      { DimensionOrganizationUID: organisation, DimensionIndexPointer: 0x0062000b, FunctionalGroupPointer: 0x0062000a, DimensionDescriptionLabel: 'Segment' },
      { DimensionOrganizationUID: organisation, DimensionIndexPointer: 0x00200032, FunctionalGroupPointer: 0x00209113, DimensionDescriptionLabel: 'Image position' },
    ],
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [{ PixelSpacing: [plane.rowSpacing, plane.columnSpacing], SliceThickness: 1 }],
        PlaneOrientationSequence: [{ ImageOrientationPatient: [...plane.rowCosines, ...plane.columnCosines] }],
      },
    ],
    PerFrameFunctionalGroupsSequence: levels.map((_level, i) => ({
      FrameContentSequence: [{ DimensionIndexValues: [i + 1, 1] }],
      PlanePositionSequence: [{ ImagePositionPatient: [...plane.origin] }],
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: i + 1 }],
      DerivationImageSequence: [
        {
          DerivationCodeSequence: [{ ...CODES.gradCam }],
          SourceImageSequence: [{ ...sourceReference, PurposeOfReferenceCodeSequence: [{ ...SOURCE_IMAGE_FOR_PROCESSING }] }],
        },
      ],
    })),
    PixelData: [BitArray.pack(bits).slice().buffer],
  };
  return { part10: writePart10(dataset), dataset, sopInstanceUID, seriesInstanceUID };
}
