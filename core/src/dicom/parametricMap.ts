/**
 * The Grad-CAM heatmap as a DICOM Parametric Map (PS3.3 A.75): one frame of 32-bit float values
 * in [0, 1] (Float Pixel Data, 7FE0,0008), with a Real World Value Mapping that says what they
 * are (normalised Grad-CAM attention, no unit).
 *
 * Registration to the source image:
 * - The map's grid is, by default, the source's own Rows x Columns, pixel for pixel: map pixel
 *   (r, c) is about source pixel (r, c). That is the registration a projection radiograph (CR/DX)
 *   can have: it has no patient coordinate system (usually no FrameOfReferenceUID, position or
 *   orientation). It is also the form OHIF 3.13's PMAP handler needs: it refuses a map whose
 *   Rows/Columns differ from the source's ("not yet supported").
 * - Each frame's DerivationImageSequence > SourceImageSequence names the source SOP instance (OHIF
 *   matches frames to images by it), and ReferencedSeriesSequence names its series.
 * - When the source has a Frame of Reference, the map shares it, with the source's orientation,
 *   position and pixel spacing. When it has none, the map gets a NEW FrameOfReferenceUID (the IOD
 *   requires one), orientation [1,0,0,0,1,0] and position [0,0,0]: a coordinate system of the
 *   image plane itself, in which the map and the image coincide because the grids do; the new
 *   frame of reference relates the map to nothing else. These are the values OHIF 3.13 itself
 *   assumes for an image without them (its imagePlaneModule defaults), so its orientation check
 *   matches. Pixel spacing is the source's
 *   PixelSpacing, else its ImagerPixelSpacing, else 1 (one source pixel; said in the derivation
 *   description).
 * - A smaller grid (option `grid`) covers the same area as the source, with larger pixels
 *   (core/heatmapLayer.ts layerPlane). It is smaller to store but OHIF 3.13 will not display it.
 *
 * Display in stock OHIF 3.13.2, seen in Chromium against Orthanc (demo CR, source grid): the map's
 * series is listed as PMAP, and double-clicking it overlays the map in colour on the radiograph
 * (OHIF builds a one-image volume from the CR; it multiplies the values by 100, so its window
 * reads 0..100). Its handler refuses a map whose Rows/Columns differ from the source's.
 */
import { upsample } from '../cam';
import { InputError, show } from '../errors';
import { layerPlane, type Grid, type ImagePlane, type Vec3 } from '../heatmapLayer';
import type { GreyImage } from '../resize';
import { CODES, PRIVATE_SCHEME_IDENTIFICATION } from './codes';
import { checkIdentity, deviceOf } from './resultSr';
import { derivedImageEquipment } from './srDocument';
import {
  HEATMAP_SERIES_DESCRIPTION,
  HEATMAP_SERIES_NUMBER,
  SOP_CLASS,
  type BuiltObject,
  type ChestAidResultContent,
} from './types';
import {
  dicomDateTime,
  isUid,
  itemsOf,
  naturalize,
  newUid,
  numberOf,
  derivedInstanceHeader,
  single,
  sourceRefOf,
  text,
  writePart10,
  type Dataset,
  type DatasetSource,
} from './values';

export interface HeatmapInput {
  /** The source image's header (naturalized, DICOM JSON or Part 10). Needs Rows and Columns. */
  readonly source: DatasetSource;
  /** The normalised CAM in [0, 1]: the model's 7x7, or already upsampled to the output grid. */
  readonly cam: GreyImage;
  readonly model: ChestAidResultContent['model'];
  readonly calibration: ChestAidResultContent['calibration'];
  readonly trainedOnSyntheticData: boolean;
  /** 'source' (default): the source's Rows x Columns, which OHIF 3.13 needs. Or a smaller grid. */
  readonly grid?: 'source' | Grid;
  readonly seriesInstanceUID?: string;
  readonly sopInstanceUID?: string;
  readonly createdAt?: Date;
}

/** Where a stored map belongs, read from its header (WADO-RS metadata suffices). */
export interface HeatmapReference {
  readonly sopInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly source: ChestAidResultContent['source'];
  readonly grid: Grid;
  /** The source's own when it has one; else one made for the map (compare with the source's). */
  readonly frameOfReferenceUID: string;
  readonly model: ChestAidResultContent['model'];
  readonly calibrationVersion: string;
}

const IDENTITY_ORIENTATION: readonly number[] = [1, 0, 0, 0, 1, 0];
const SOURCE_IMAGE_FOR_PROCESSING = { CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation' };
const QUANTITY = { CodeValue: '246205007', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Quantity' };
const NO_UNITS = { CodeValue: '1', CodingSchemeDesignator: 'UCUM', CodeMeaning: 'no units' };
// Body Part Examined CHEST as a code (PS3.16 Annex L; CID 4031 Common Anatomic Regions).
const CHEST = { CodeValue: '43799004', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Chest' };
const FRAME_LATERALITIES = ['R', 'L', 'U', 'B'];
// AT values as numbers: dcmjs reads a string such as '00200032' as the decimal 200032.
const IMAGE_POSITION_PATIENT_TAG = 0x00200032;
const PLANE_POSITION_SEQUENCE_TAG = 0x00209113;
/** The description's machine-readable tail, which readHeatmapReference parses. */
const CALIBRATION_MARK = 'calibration version: ';

function positiveInteger(name: string, value: unknown): number {
  const n = numberOf(value);
  if (n === undefined || !Number.isInteger(n) || n < 1) throw new InputError(`${name} must be a positive integer, got ${show(single(value))}`);
  return n;
}

function numbers(value: unknown, length: number): number[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const list = (Array.isArray(value) ? value : String(value).split('\\')).map(v => numberOf(v));
  return list.length === length && list.every(v => v !== undefined && Number.isFinite(v)) ? (list as number[]) : undefined;
}

/** The source's plane: its own geometry when it has a frame of reference, else the image plane. */
export function sourcePlane(source: Dataset, rows: number, columns: number): { plane: ImagePlane; frameOfReferenceUID?: string; spacingNote?: string } {
  const spacing = numbers(source.PixelSpacing, 2) ?? numbers(source.ImagerPixelSpacing, 2);
  const spacingNote = spacing ? undefined : 'The source has no pixel spacing: spacing 1 here means one source pixel.';
  const [rowSpacing, columnSpacing] = spacing ?? [1, 1];
  const frameOfReferenceUID = text(source.FrameOfReferenceUID);
  const orientation = numbers(source.ImageOrientationPatient, 6);
  const position = numbers(source.ImagePositionPatient, 3);
  const registered = frameOfReferenceUID !== undefined && isUid(frameOfReferenceUID) && orientation && position;
  const o = registered ? orientation : IDENTITY_ORIENTATION;
  return {
    plane: {
      rows,
      columns,
      rowSpacing,
      columnSpacing,
      origin: (registered ? position : [0, 0, 0]) as unknown as Vec3,
      rowCosines: [o[0], o[1], o[2]],
      columnCosines: [o[3], o[4], o[5]],
    },
    frameOfReferenceUID: registered ? frameOfReferenceUID : undefined,
    spacingNote,
  };
}

export function checkCam(cam: GreyImage): void {
  if (!cam || !(cam.data instanceof Float32Array)) throw new InputError(`cam must be a GreyImage with Float32Array data, got ${show(cam)}`);
  positiveInteger('cam width', cam.width);
  positiveInteger('cam height', cam.height);
  if (cam.data.length !== cam.width * cam.height) {
    throw new InputError(`cam holds ${cam.data.length} values; expected ${cam.height} x ${cam.width} = ${cam.width * cam.height}`);
  }
  for (let i = 0; i < cam.data.length; i++) {
    const v = cam.data[i];
    if (!(v >= 0 && v <= 1)) throw new InputError(`cam value ${show(v)} at index ${i} is not a normalised value in [0, 1]`);
  }
}

/**
 * The Frame Anatomy functional group (C.7.6.16.2.8, mandatory in a Parametric Map): what the map
 * covers. The source's coded Anatomic Region and its laterality (ImageLaterality, else the series'
 * Laterality) when it states them; else the chest, which is what ChestAid is for, and U (unpaired):
 * the chest is not a paired structure. Its Frame Laterality also meets General Series Laterality's
 * condition (Type 2C, required only when no Image or Frame Laterality is present).
 */
export function frameAnatomyOf(source: Dataset): Dataset {
  const region = itemsOf(source.AnatomicRegionSequence)[0];
  const code = region && {
    CodeValue: text(region.CodeValue),
    CodingSchemeDesignator: text(region.CodingSchemeDesignator),
    CodeMeaning: text(region.CodeMeaning),
  };
  const coded = code !== undefined && Object.values(code).every(value => value !== undefined && value.trim() !== '');
  const laterality = [source.ImageLaterality, source.Laterality]
    .map(value => text(value)?.trim())
    .find(value => value !== undefined && FRAME_LATERALITIES.includes(value));
  return {
    FrameLaterality: laterality ?? 'U',
    AnatomicRegionSequence: [coded ? code : { ...CHEST }],
  };
}

/** The map on the output grid: as given when it already has that size, else upsampled bicubically. */
export function mapOnGrid(cam: GreyImage, grid: Grid): GreyImage {
  if (cam.width === grid.columns && cam.height === grid.rows) return cam;
  return upsample(cam, grid.rows, grid.columns);
}

/** Builds the Parametric Map; throws InputError naming the bad input (CAM value, source UID, size). */
export function buildHeatmapParametricMap(input: HeatmapInput): BuiltObject {
  checkCam(input.cam);
  checkIdentity(input);
  const device = deviceOf(input);
  const sourceDataset = naturalize(input.source);
  const source = sourceRefOf(sourceDataset);
  const sourceRows = positiveInteger('source Rows', sourceDataset.Rows);
  const sourceColumns = positiveInteger('source Columns', sourceDataset.Columns);
  const grid: Grid = input.grid === undefined || input.grid === 'source' ? { rows: sourceRows, columns: sourceColumns } : input.grid;
  positiveInteger('grid rows', grid.rows);
  positiveInteger('grid columns', grid.columns);
  for (const [name, uid] of [['seriesInstanceUID', input.seriesInstanceUID], ['sopInstanceUID', input.sopInstanceUID]] as const) {
    if (uid !== undefined && !isUid(uid)) throw new InputError(`${name} is not a valid UID: ${show(uid)}`);
  }

  const map = mapOnGrid(input.cam, grid);
  const { plane: srcPlane, frameOfReferenceUID: sourceFrame, spacingNote } = sourcePlane(sourceDataset, sourceRows, sourceColumns);
  const plane = grid.rows === sourceRows && grid.columns === sourceColumns ? srcPlane : layerPlane(srcPlane, grid);
  const frameOfReferenceUID = sourceFrame ?? newUid();
  const seriesInstanceUID = input.seriesInstanceUID ?? newUid();
  const sopInstanceUID = input.sopInstanceUID ?? newUid();
  const createdAt = input.createdAt ?? new Date();
  const created = dicomDateTime(createdAt);

  const description = [
    `Grad-CAM attention of ChestAid model ${input.model.id} ${input.model.version} (sha256 ${input.model.sha256}),`,
    `ReLU then divided by its maximum: 0 no attention, 1 the strongest; upsampled bicubically from ${input.cam.height}x${input.cam.width} to ${grid.rows}x${grid.columns}.`,
    sourceFrame ? 'Shares the source image frame of reference.' : 'New frame of reference: registered to the source image by pixel grid (the source has no patient coordinates).',
    spacingNote,
    'Decision support, not a diagnosis.',
    input.trainedOnSyntheticData ? 'The model was trained on SYNTHETIC data only.' : undefined,
    `${CALIBRATION_MARK}${input.calibration.version}`,
  ]
    .filter(Boolean)
    .join(' ');
  if (description.length > 1024) throw new InputError(`derivation description is ${description.length} characters; ST holds 1024`);

  const sourceReference = { ReferencedSOPClassUID: source.sopClassUID, ReferencedSOPInstanceUID: source.sopInstanceUID };
  const frameType = ['DERIVED', 'PRIMARY', 'STATIC', 'NONE'];

  const dataset: Dataset = {
    ...derivedInstanceHeader(SOP_CLASS.parametricMap, sopInstanceUID, created, sourceDataset, source.studyInstanceUID),
    // 'OT' as highdicom writes for maps: not the source's CR/DX, so a search for new radiographs
    // by modality never returns the map.
    Modality: 'OT',
    SeriesInstanceUID: seriesInstanceUID,
    SeriesNumber: HEATMAP_SERIES_NUMBER,
    SeriesDate: created.date,
    SeriesTime: created.time,
    SeriesDescription: HEATMAP_SERIES_DESCRIPTION,
    ...derivedImageEquipment(device, createdAt, { dataset: sourceDataset, frameOfReferenceUID, sharesSourceFrame: sourceFrame !== undefined }),
    ImageType: frameType,
    ContentQualification: 'RESEARCH',
    InstanceNumber: 1,
    ContentLabel: 'ATTENTION_MAP',
    ContentDescription: 'ChestAid normalised Grad-CAM',
    ContentCreatorName: '',
    ContentDate: created.date,
    ContentTime: created.time,
    // Acquisition Context (C.7.6.14, Type 2): present and empty, since the map was computed, not
    // acquired; the radiograph's own acquisition context stays with the radiograph.
    AcquisitionContextSequence: [],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: grid.rows,
    Columns: grid.columns,
    BitsAllocated: 32,
    NumberOfFrames: 1,
    BurnedInAnnotation: 'NO',
    RecognizableVisualFeatures: 'NO',
    LossyImageCompression: '00',
    PresentationLUTShape: 'IDENTITY',
    SourceImageSequence: [{ ...sourceReference, PurposeOfReferenceCodeSequence: [{ ...SOURCE_IMAGE_FOR_PROCESSING }] }],
    ReferencedSeriesSequence: [{ SeriesInstanceUID: source.seriesInstanceUID, ReferencedInstanceSequence: [{ ...sourceReference }] }],
    // No DimensionOrganizationType (Type 3): its defined terms (3D, 3D_TEMPORAL, TILED_FULL,
    // TILED_SPARSE) describe none of a single 2D frame.
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: newUid() }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: undefined,
        DimensionIndexPointer: IMAGE_POSITION_PATIENT_TAG,
        FunctionalGroupPointer: PLANE_POSITION_SEQUENCE_TAG,
        DimensionDescriptionLabel: 'Image position',
      },
    ],
    CodingSchemeIdentificationSequence: [{ ...PRIVATE_SCHEME_IDENTIFICATION }],
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [{ PixelSpacing: [plane.rowSpacing, plane.columnSpacing], SliceThickness: 1 }],
        PlaneOrientationSequence: [{ ImageOrientationPatient: [...plane.rowCosines, ...plane.columnCosines] }],
        DerivationImageSequence: [
          {
            DerivationDescription: description,
            DerivationCodeSequence: [{ ...CODES.gradCam }],
            SourceImageSequence: [{ ...sourceReference, PurposeOfReferenceCodeSequence: [{ ...SOURCE_IMAGE_FOR_PROCESSING }] }],
          },
        ],
        FrameAnatomySequence: [frameAnatomyOf(sourceDataset)],
        ParametricMapFrameTypeSequence: [{ FrameType: frameType }],
        // Identity Pixel Value Transformation (C.7.6.16.2.9b, mandatory here): the stored floats are
        // the values, and the Real World Value Mapping below says what they mean.
        PixelValueTransformationSequence: [{ RescaleIntercept: 0, RescaleSlope: 1, RescaleType: 'US' }],
        FrameVOILUTSequence: [{ WindowCenter: 0.5, WindowWidth: 1, VOILUTFunction: 'LINEAR' }],
        RealWorldValueMappingSequence: [
          {
            DoubleFloatRealWorldValueFirstValueMapped: 0,
            DoubleFloatRealWorldValueLastValueMapped: 1,
            RealWorldValueIntercept: 0,
            RealWorldValueSlope: 1,
            LUTExplanation: 'Normalised Grad-CAM attention, 0 to 1',
            LUTLabel: 'GRADCAM',
            MeasurementUnitsCodeSequence: [{ ...NO_UNITS }],
            // A Content Item Macro item (PS3.3 Table 10-2): an SR content item has a relationship
            // to its parent, this one has none, so no RelationshipType.
            QuantityDefinitionSequence: [{ ValueType: 'CODE', ConceptNameCodeSequence: [{ ...QUANTITY }], ConceptCodeSequence: [{ ...CODES.gradCam }] }],
          },
        ],
      },
    ],
    PerFrameFunctionalGroupsSequence: [
      {
        FrameContentSequence: [{ DimensionIndexValues: [1] }],
        PlanePositionSequence: [{ ImagePositionPatient: [...plane.origin] }],
      },
    ],
    FloatPixelData: [map.data.slice().buffer],
  };
  // Dimension Index items name the organisation they belong to.
  const organisation = (dataset.DimensionOrganizationSequence as Dataset[])[0].DimensionOrganizationUID;
  (dataset.DimensionIndexSequence as Dataset[])[0].DimensionOrganizationUID = organisation;

  return { part10: writePart10(dataset), dataset, sopInstanceUID, seriesInstanceUID };
}
