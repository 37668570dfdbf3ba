/**
 * dcmjs ships no type declarations; this is the little of it the worker uses, typed once.
 */
export interface DcmjsLike {
  data: {
    DicomMessage: {
      readFile(
        buffer: ArrayBuffer,
        options?: Record<string, unknown>,
      ): { meta: Record<string, { Value?: unknown[] }>; dict: Record<string, unknown> };
    };
    DicomMetaDictionary: {
      naturalizeDataset(dict: unknown): Record<string, unknown>;
      denaturalizeDataset(dataset: unknown): Record<string, unknown>;
    };
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
  };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const dcmjs: DcmjsLike = require('dcmjs');
