/**
 * An in-memory PACS with the worker's DICOMweb calls, for the worker's jest tests (the real
 * Orthanc runs in test/pacs/). Failures are injected per call name.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { type DicomJson, PacsHttpError, type RetrieveOptions, type StowResult } from '@chestaid/core';
import { dcmjs } from '../dcmjs';
import type { PacsLike } from '../worker';

export const ROOT = resolve(__dirname, '../../..');

export function bufferOf(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

const json = (tag: string, vr: string, ...values: unknown[]) => ({ [tag]: { vr, Value: values } });

interface Stored {
  readonly study: string;
  readonly series: string;
  readonly sop: string;
  readonly modality: string;
  readonly description: string;
  readonly bytes: ArrayBuffer;
}

export class FakePacs implements PacsLike {
  readonly instances: Stored[] = [];
  readonly calls: string[] = [];
  readonly fail: Partial<Record<string, () => Error>> = {};
  /** False: a PACS that cannot transcode, answering `refusal` to any transfer syntax but `*`. */
  transcodes = true;
  /** What a PACS that cannot transcode answers: 406 (DICOMweb), 500 (Orthanc without a codec for the stored syntax). */
  refusal = 406;
  /** The transfer syntax each retrieveInstance asked for. */
  readonly asked: string[] = [];

  add(bytes: ArrayBuffer): void {
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes).dict);
    if (this.instances.some(i => i.sop === ds.SOPInstanceUID)) return; // one copy, as Orthanc keeps
    this.instances.push({
      study: String(ds.StudyInstanceUID),
      series: String(ds.SeriesInstanceUID),
      sop: String(ds.SOPInstanceUID),
      modality: String(ds.Modality),
      description: String(ds.SeriesDescription ?? ''),
      bytes,
    });
  }

  private call(name: string): void {
    this.calls.push(name);
    const failure = this.fail[name];
    if (failure) throw failure();
  }

  async searchStudies(): Promise<DicomJson[]> {
    this.call('searchStudies');
    const studies = [...new Set(this.instances.map(i => i.study))];
    return studies.map(study => {
      const mine = this.instances.filter(i => i.study === study);
      return {
        ...json('0020000D', 'UI', study),
        ...json('00080061', 'CS', ...new Set(mine.map(i => i.modality))),
        ...json('00201208', 'IS', mine.length),
      };
    });
  }

  async searchSeries(study?: string): Promise<DicomJson[]> {
    this.call('searchSeries');
    const rows = this.instances.filter(i => i.study === study);
    return [...new Set(rows.map(i => i.series))].map(series => {
      const first = rows.find(i => i.series === series)!;
      return { ...json('0020000E', 'UI', series), ...json('00080060', 'CS', first.modality), ...json('0008103E', 'LO', first.description) };
    });
  }

  async searchInstances(study?: string, series?: string): Promise<DicomJson[]> {
    this.call('searchInstances');
    return this.instances.filter(i => i.study === study && i.series === series).map(i => json('00080018', 'UI', i.sop));
  }

  async retrieveInstance(_study: string, _series: string, sop: string, options: RetrieveOptions = {}): Promise<ArrayBuffer> {
    this.call('retrieveInstance');
    this.asked.push(options.transferSyntax ?? '*');
    if (!this.transcodes && options.transferSyntax && options.transferSyntax !== '*') throw new PacsHttpError('http://pacs/x', this.refusal, this.refusal === 406 ? 'Not Acceptable' : 'Internal Server Error');
    return this.instances.find(i => i.sop === sop)!.bytes;
  }

  async retrieveInstanceMetadata(_study: string, _series: string, sop: string): Promise<DicomJson> {
    this.call('retrieveInstanceMetadata');
    return dcmjs.data.DicomMessage.readFile(this.instances.find(i => i.sop === sop)!.bytes).dict as DicomJson;
  }

  async retrieveSeriesMetadata(study: string, series: string): Promise<DicomJson[]> {
    this.call('retrieveSeriesMetadata');
    return this.instances
      .filter(i => i.study === study && i.series === series)
      .map(i => dcmjs.data.DicomMessage.readFile(i.bytes).dict as DicomJson);
  }

  async store(instances: readonly ArrayBuffer[]): Promise<StowResult> {
    this.call('store');
    for (const bytes of instances) this.add(bytes);
    return { stored: [], response: null };
  }
}
