/**
 * The calibration log a deployment serves next to its model, read by the viewer: the files the
 * CLI writes (fileStore.ts) under `<model dir>/calibration/`, fetched from the configured model
 * URL only, never from anywhere else. Read-only: changes are made with the CLI on the server and
 * recorded in its log; the viewer verifies the chain and the overlay hashes like any other store.
 *
 * Fails closed (core trust.ts): a 404 on log.jsonl is a MISSING log, never "the manifest's own
 * calibration" (a site that wants that sets calibrationSource 'none'); the served active.json
 * records the head the log must still hold; and this browser remembers the last head it trusted
 * (localStorage), so a log deleted, cut or put back from an older copy is refused with the reason.
 */
import { type AuditEntry, type LogHead, type SiteCalibrationStore, type TrustedHead, type TrustedHeadMemory, logLines, type UnreadableEntry } from '@chestaid/core';

/** What the viewer needs of fetch: status and text. */
export type FetchText = (url: string) => Promise<{ readonly status: number; readonly text: () => Promise<string> }>;

const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** `<manifest dir>/calibration/`, from the manifest's absolute URL. */
export function servedCalibrationUrl(manifestUrl: string): string {
  return new URL('calibration/', manifestUrl).href;
}

/** The part of window.localStorage this needs. */
export interface HeadStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function isHead(value: unknown): value is TrustedHead {
  const v = value as Partial<TrustedHead> | null;
  return typeof v === 'object' && v !== null && Number.isInteger(v.seq) && (v.seq as number) >= 0 && typeof v.hash === 'string' && HEX64.test(v.hash) && typeof v.at === 'string';
}

/**
 * The last head this browser trusted in one served log, in localStorage. Storage that is blocked
 * or full remembers nothing (the served active.json is then the only record checked); clearing
 * the browser's site data forgets, which is how a person makes a browser trust a log restored on
 * purpose from an older backup.
 */
export class BrowserHeadMemory implements TrustedHeadMemory {
  readonly who = 'this browser';
  constructor(
    private readonly storage: HeadStorage | null,
    readonly key: string,
  ) {}

  async recall(): Promise<TrustedHead | null> {
    try {
      const raw = this.storage?.getItem(this.key);
      const parsed: unknown = raw ? JSON.parse(raw) : null;
      return isHead(parsed) ? parsed : null;
    } catch {
      return null;
    }
  }

  async remember(head: TrustedHead): Promise<void> {
    try {
      this.storage?.setItem(this.key, JSON.stringify(head));
    } catch {
      // Blocked or full: nothing remembered, the served active.json still checked.
    }
  }
}

/** The localStorage key of the head trusted in the log at `logUrl` for `modelSha256`. */
export function trustedHeadKey(logUrl: string, modelSha256: string): string {
  return `chestaid.calibration.trustedHead:${modelSha256.toLowerCase()}:${logUrl}`;
}

export interface ServedStoreOptions {
  readonly fetchText?: FetchText;
  /** This browser's memory of the log's head; none: only the served active.json is checked. */
  readonly trusted?: TrustedHeadMemory;
  /** The model bytes in use: active.json must be theirs. */
  readonly modelSha256?: string;
}

export class ServedSiteCalibrationStore implements SiteCalibrationStore {
  private readonly fetchText: FetchText;
  readonly trusted?: TrustedHeadMemory;
  private readonly modelSha256: string | null;

  constructor(
    private readonly baseUrl: string,
    { fetchText = url => fetch(url, { cache: 'no-cache' }), trusted, modelSha256 }: ServedStoreOptions = {},
  ) {
    this.fetchText = fetchText;
    this.trusted = trusted;
    this.modelSha256 = modelSha256?.toLowerCase() ?? null;
  }

  get where(): string {
    return `the served calibration log ${new URL('log.jsonl', this.baseUrl).href}`;
  }

  /** The file's text, or null on a 404. */
  private async get(name: string): Promise<string | null> {
    const url = new URL(name, this.baseUrl).href;
    const response = await this.fetchText(url);
    if (response.status === 404) return null;
    if (response.status < 200 || response.status >= 300) throw new Error(`GET ${url} answered ${response.status}`);
    return response.text();
  }

  async readEntries(): Promise<readonly (AuditEntry | UnreadableEntry)[] | null> {
    const text = await this.get('log.jsonl');
    if (text === null) return null;
    if (text === '') return [];
    return logLines(text, {
      notJson: n => `line ${n} of the served log.jsonl is not JSON`,
      torn: n => `line ${n} of the served log.jsonl is incomplete (no newline)`,
    });
  }

  async readOverlay(version: string): Promise<unknown | null> {
    if (!VERSION_NAME.test(version)) throw new Error(`calibration version ${JSON.stringify(version)} cannot name a file`);
    const text = await this.get(`overlays/${version}.json`);
    return text === null ? null : JSON.parse(text);
  }

  /** The served active.json's head (the CLI rewrites it after each append); head null when it is not served. */
  async readHeadRecord(): Promise<{ name: string; head: LogHead | null }> {
    const text = await this.get('active.json');
    if (text === null) return { name: 'active.json', head: null };
    const active = JSON.parse(text) as { model_sha256?: unknown; head?: { seq?: unknown; hash?: unknown } };
    const head = active?.head;
    if (!(head && Number.isInteger(head.seq) && typeof head.hash === 'string' && HEX64.test(head.hash))) {
      throw new Error(`the served active.json does not record a log head (seq and sha256): ${text.slice(0, 80)}`);
    }
    if (this.modelSha256 !== null && active.model_sha256 !== this.modelSha256) {
      throw new Error(`the served active.json is for model sha256 ${String(active.model_sha256)}, not ${this.modelSha256}`);
    }
    return { name: 'active.json', head: { seq: head.seq as number, hash: head.hash } };
  }

  async append(): Promise<void> {
    throw new Error("this deployment's calibration log is served read-only; change it with the ChestAid CLI on the server");
  }
}
