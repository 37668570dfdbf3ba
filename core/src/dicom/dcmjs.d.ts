/**
 * dcmjs 0.51 ships no type declarations. This declares the little of it the dicom module uses:
 * reading and writing Part 10 files and converting between the tag-keyed form (which is also
 * DICOM JSON, PS3.18 F.2) and the keyword-keyed "naturalized" form.
 */
declare module 'dcmjs' {
  /** Tag-keyed dataset: { "0020000D": { vr: "UI", Value: [...] } }, the DICOM JSON model. */
  export type DicomJsonDataset = Record<string, { vr: string; Value?: unknown[]; [key: string]: unknown }>;
  /** Keyword-keyed dataset: { StudyInstanceUID: "1.2...", ContentSequence: [...] }. */
  export type NaturalizedDataset = Record<string, unknown>;

  export class DicomDict {
    constructor(meta: DicomJsonDataset);
    meta: DicomJsonDataset;
    dict: DicomJsonDataset;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }

  export interface DicomMessageStatic {
    readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDict;
  }

  export interface DicomMetaDictionaryStatic {
    naturalizeDataset(dataset: DicomJsonDataset): NaturalizedDataset;
    denaturalizeDataset(dataset: NaturalizedDataset): DicomJsonDataset;
    uid(): string;
  }

  const dcmjs: {
    data: {
      DicomDict: typeof DicomDict;
      DicomMessage: DicomMessageStatic;
      DicomMetaDictionary: DicomMetaDictionaryStatic;
      BitArray: { pack(bits: Uint8Array): Uint8Array; unpack(packed: ArrayBuffer | Uint8Array): Uint8Array };
      Colors: { rgb2DICOMLAB(rgb: [number, number, number]): [number, number, number] };
    };
    log: { setLevel(level: string | number): void; getLevel(): number };
  };
  export default dcmjs;
}
