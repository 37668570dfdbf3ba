/**
 * The calibration log a deployment serves next to its model, read by the viewer: the files the
 * CLI writes (fileStore.ts) under `<model dir>/calibration/`, fetched from the configured model
 * URL only, never from anywhere else. Read-only: changes are made with the CLI on the server and
 * recorded in its log; the viewer verifies the chain and the overlay hashes like any other store.
 */
import { type AuditEntry, type SiteCalibrationStore, logLines, type UnreadableEntry } from '@chestaid/core';

/** What the viewer needs of fetch: status and text. */
export type FetchText = (url: string) => Promise<{ readonly status: number; readonly text: () => Promise<string> }>;

const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `<manifest dir>/calibration/`, from the manifest's absolute URL. */
export function servedCalibrationUrl(manifestUrl: string): string {
  return new URL('calibration/', manifestUrl).href;
}

export class ServedSiteCalibrationStore implements SiteCalibrationStore {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchText: FetchText = url => fetch(url, { cache: 'no-cache' }),
  ) {}

  private async get(name: string): Promise<string | null> {
    const url = new URL(name, this.baseUrl).href;
    const response = await this.fetchText(url);
    // No calibration directory: the deployment runs the manifest's own calibration.
    if (response.status === 404) return null;
    if (response.status < 200 || response.status >= 300) throw new Error(`GET ${url} answered ${response.status}`);
    return response.text();
  }

  async readEntries(): Promise<readonly (AuditEntry | UnreadableEntry)[]> {
    const text = await this.get('log.jsonl');
    if (text === null || text === '') return [];
    return logLines(text, {
      notJson: n => `line ${n} of the served log.jsonl is not JSON`,
      torn: n => `line ${n} of the served log.jsonl is incomplete`,
    });
  }

  async readOverlay(version: string): Promise<unknown | null> {
    if (!VERSION_NAME.test(version)) throw new Error(`calibration version ${JSON.stringify(version)} cannot name a file`);
    const text = await this.get(`overlays/${version}.json`);
    return text === null ? null : JSON.parse(text);
  }

  async append(): Promise<void> {
    throw new Error("this deployment's calibration log is served read-only; change it with the ChestAid CLI on the server");
  }
}
