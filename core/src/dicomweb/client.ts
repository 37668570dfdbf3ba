/**
 * A small DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) for the viewer and the triage worker.
 *
 * It runs in the browser and in Node 20 on the global `fetch` (or one passed in, so tests and the
 * worker can add timeouts), and imports no framework. It speaks only to the one configured
 * DICOMweb root: patient data goes nowhere else.
 *
 * Errors say which request failed and why, in types a caller can act on: `PacsUnreachable` (the
 * server did not answer: worth retrying), `PacsHttpError` (it answered with an error status;
 * 5xx, 408 and 429 are worth retrying, other 4xx are not) and `StowError` (the server stored some
 * or none of the instances it was sent; it lists the failures).
 */

/** A DICOM JSON dataset (PS3.18 F.2): tag "GGGGEEEE" -> { vr, Value? }. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[]; InlineBinary?: string; BulkDataURI?: string }>;

/** Query parameters for QIDO-RS; arrays are sent as repeated keys. */
export type QidoQuery = Record<string, string | number | boolean | readonly string[] | undefined>;

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** How failed requests are retried: exponential backoff with full jitter, capped. */
export interface RetryPolicy {
  /** Attempts after the first; 0 means no retry. */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** 0..1: the share of each delay that is randomised (1 = full jitter). */
  readonly jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ retries: 4, baseDelayMs: 250, maxDelayMs: 8000, jitter: 0.5 });
export const NO_RETRY: RetryPolicy = Object.freeze({ retries: 0, baseDelayMs: 0, maxDelayMs: 0, jitter: 0 });

/** The server could not be reached (connection refused, reset, DNS, timeout). */
export class PacsUnreachable extends Error {
  constructor(readonly url: string, cause?: unknown) {
    super(`PACS unreachable: ${url} (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
    this.name = 'PacsUnreachable';
  }
}

/** The server answered with an error status. */
export class PacsHttpError extends Error {
  constructor(readonly url: string, readonly status: number, readonly body: string) {
    super(`PACS answered ${status} for ${url}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'PacsHttpError';
  }
}

/** One instance the server did not store, with the reason code from the STOW-RS response. */
export interface StowFailure {
  readonly sopInstanceUID?: string;
  readonly sopClassUID?: string;
  readonly failureReason?: number;
}

/** A STOW-RS request stored some or none of what it was sent. */
export class StowError extends Error {
  constructor(readonly url: string, readonly status: number, readonly failed: readonly StowFailure[], readonly stored: readonly string[]) {
    super(
      `PACS refused ${failed.length || 'the'} instance(s) sent to ${url} (HTTP ${status})` +
        (failed.length ? `: ${failed.map(f => `${f.sopInstanceUID ?? '?'} reason ${f.failureReason ?? '?'}`).join(', ')}` : ''),
    );
    this.name = 'StowError';
  }
}

/** What the server says it stored. */
export interface StowResult {
  readonly stored: readonly string[];
  readonly response: DicomJson | null;
}

/** True for failures a later attempt may not repeat: no answer, 5xx, 408, 429. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PacsUnreachable) return true;
  if (error instanceof PacsHttpError || error instanceof StowError) {
    return error.status >= 500 || error.status === 408 || error.status === 429;
  }
  return false;
}

/** The delay before retry `attempt` (1-based) under `policy`; `random` in [0, 1). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling * (1 - policy.jitter) + ceiling * policy.jitter * random();
}

export interface RetryHooks {
  /** Called before each wait, e.g. to log it. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Stops retrying (the last error is thrown) once aborted. */
  readonly signal?: AbortSignal;
}

const realSleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/** Runs `fn`, retrying failures that `isRetryable` accepts, with backoff between attempts. */
export async function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY, hooks: RetryHooks = {}): Promise<T> {
  const sleep = hooks.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= policy.retries || !isRetryable(error) || hooks.signal?.aborted) throw error;
      const delay = backoffDelay(attempt + 1, policy, hooks.random);
      hooks.onRetry?.(error, attempt + 1, delay);
      await sleep(delay);
    }
  }
}

export interface DicomWebClientOptions {
  /** The DICOMweb root, e.g. "/pacs/dicom-web" in the viewer or "http://127.0.0.1:8042/dicom-web". */
  readonly baseUrl: string;
  readonly fetch?: FetchLike;
  readonly retry?: RetryPolicy;
  readonly retryHooks?: RetryHooks;
}

export class DicomWebClient {
  readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  private readonly retry: RetryPolicy;
  private readonly retryHooks: RetryHooks;

  constructor({ baseUrl, fetch: fetchImpl, retry = DEFAULT_RETRY, retryHooks = {} }: DicomWebClientOptions) {
    if (!baseUrl) throw new Error('DicomWebClient needs a baseUrl (the DICOMweb root)');
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.fetchImpl = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
    this.retry = retry;
    this.retryHooks = retryHooks;
  }

  /** QIDO-RS /studies. */
  searchStudies(query: QidoQuery = {}): Promise<DicomJson[]> {
    return this.qido('/studies', query);
  }

  /** QIDO-RS /series, optionally within one study. */
  searchSeries(studyUID?: string, query: QidoQuery = {}): Promise<DicomJson[]> {
    return this.qido(studyUID ? `/studies/${uid(studyUID)}/series` : '/series', query);
  }

  /** QIDO-RS /instances, optionally within one study or series. */
  searchInstances(studyUID?: string, seriesUID?: string, query: QidoQuery = {}): Promise<DicomJson[]> {
    if (seriesUID && !studyUID) throw new Error('searchInstances: a series UID needs its study UID');
    const path = studyUID ? (seriesUID ? `/studies/${uid(studyUID)}/series/${uid(seriesUID)}/instances` : `/studies/${uid(studyUID)}/instances`) : '/instances';
    return this.qido(path, query);
  }

  /** WADO-RS metadata of every instance of a series. */
  async retrieveSeriesMetadata(studyUID: string, seriesUID: string): Promise<DicomJson[]> {
    const response = await this.request(`/studies/${uid(studyUID)}/series/${uid(seriesUID)}/metadata`, {
      headers: { Accept: 'application/dicom+json' },
    });
    return (await response.json()) as DicomJson[];
  }

  /** WADO-RS metadata of one instance. */
  async retrieveInstanceMetadata(studyUID: string, seriesUID: string, sopUID: string): Promise<DicomJson> {
    const response = await this.request(`/studies/${uid(studyUID)}/series/${uid(seriesUID)}/instances/${uid(sopUID)}/metadata`, {
      headers: { Accept: 'application/dicom+json' },
    });
    const body = (await response.json()) as DicomJson[];
    if (!Array.isArray(body) || body.length !== 1) throw new Error(`WADO-RS metadata of ${sopUID}: expected one dataset, got ${Array.isArray(body) ? body.length : typeof body}`);
    return body[0];
  }

  /** WADO-RS: one instance as DICOM Part 10 bytes, in the transfer syntax it was stored in. */
  async retrieveInstance(studyUID: string, seriesUID: string, sopUID: string): Promise<ArrayBuffer> {
    const response = await this.request(`/studies/${uid(studyUID)}/series/${uid(seriesUID)}/instances/${uid(sopUID)}`, {
      headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
    });
    const parts = parseMultipart(await response.arrayBuffer(), response.headers.get('content-type') ?? '');
    if (parts.length !== 1) throw new Error(`WADO-RS instance ${sopUID}: expected one part, got ${parts.length}`);
    return parts[0];
  }

  /** STOW-RS: stores Part 10 instances (into `studyUID` when given). Throws StowError on any refusal. */
  async store(instances: readonly ArrayBuffer[], studyUID?: string): Promise<StowResult> {
    if (instances.length === 0) return { stored: [], response: null };
    const boundary = `chestaid-${randomHex(16)}`;
    const body = multipartBody(instances, boundary);
    const url = this.url(studyUID ? `/studies/${uid(studyUID)}` : '/studies');
    return withRetry(
      async () => {
        const response = await this.send(url, {
          method: 'POST',
          headers: {
            'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
            Accept: 'application/dicom+json',
          },
          body,
        });
        const text = await response.text();
        const parsed = text ? (JSON.parse(text) as DicomJson) : null;
        const stored = sequenceUIDs(parsed, '00081199');
        const failed = failures(parsed);
        if (!response.ok || failed.length > 0) throw new StowError(url, response.status, failed, stored);
        return { stored, response: parsed };
      },
      this.retry,
      this.retryHooks,
    );
  }

  private async qido(path: string, query: QidoQuery): Promise<DicomJson[]> {
    const response = await this.request(path + queryString(query), { headers: { Accept: 'application/dicom+json' } });
    // QIDO-RS answers 204 (or an empty body) when nothing matches.
    const text = await response.text();
    return text ? (JSON.parse(text) as DicomJson[]) : [];
  }

  private request(path: string, init: RequestInit): Promise<Response> {
    const url = this.url(path);
    return withRetry(
      async () => {
        const response = await this.send(url, init);
        if (!response.ok) throw new PacsHttpError(url, response.status, await response.text().catch(() => ''));
        return response;
      },
      this.retry,
      this.retryHooks,
    );
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, init);
    } catch (error) {
      throw new PacsUnreachable(url, error);
    }
  }

  private url(path: string): string {
    return this.baseUrl + path;
  }
}

/** The first value of a DICOM JSON attribute, or undefined. */
export function firstValue<T = unknown>(dataset: DicomJson | undefined, tag: string): T | undefined {
  return dataset?.[tag]?.Value?.[0] as T | undefined;
}

/** A string attribute of a DICOM JSON dataset (PN values give their Alphabetic form). */
export function stringValue(dataset: DicomJson | undefined, tag: string): string | undefined {
  const v = firstValue<unknown>(dataset, tag);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && v && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic);
  return String(v);
}

function uid(value: string): string {
  if (!/^[0-9.]{1,64}$/.test(value)) throw new Error(`not a DICOM UID: ${JSON.stringify(value)}`);
  return value;
}

function queryString(query: QidoQuery): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return Array.from(buffer, b => b.toString(16).padStart(2, '0')).join('');
}

const encoder = new TextEncoder();

/** A multipart/related body of DICOM parts (PS3.18 8.6.1.2). */
export function multipartBody(parts: readonly ArrayBuffer[], boundary: string): Uint8Array<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    chunks.push(encoder.encode(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), new Uint8Array(part), encoder.encode('\r\n'));
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** The bodies of a multipart/related response, split on the boundary its Content-Type names. */
export function parseMultipart(body: ArrayBuffer, contentType: string): ArrayBuffer[] {
  const match = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!match) throw new Error(`not a multipart response (Content-Type: ${contentType || 'none'})`);
  const bytes = new Uint8Array(body);
  const delimiter = encoder.encode(`--${match[1]}`);
  const parts: ArrayBuffer[] = [];
  let start = indexOf(bytes, delimiter, 0);
  while (start >= 0) {
    const afterDelimiter = start + delimiter.length;
    if (bytes[afterDelimiter] === 0x2d && bytes[afterDelimiter + 1] === 0x2d) break; // closing "--"
    const headersEnd = indexOf(bytes, encoder.encode('\r\n\r\n'), afterDelimiter);
    if (headersEnd < 0) throw new Error('multipart response: a part has no header terminator');
    const next = indexOf(bytes, delimiter, headersEnd + 4);
    if (next < 0) throw new Error('multipart response: no closing boundary');
    // The part's body ends before the CRLF that precedes the next delimiter.
    const end = bytes[next - 2] === 0x0d && bytes[next - 1] === 0x0a ? next - 2 : next;
    parts.push(body.slice(headersEnd + 4, end));
    start = next;
  }
  return parts;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first, from); i >= 0 && i <= haystack.length - needle.length; i = haystack.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function sequenceUIDs(response: DicomJson | null, sequenceTag: string): string[] {
  const items = (response?.[sequenceTag]?.Value ?? []) as DicomJson[];
  return items.map(item => stringValue(item, '00081155')).filter((v): v is string => !!v);
}

function failures(response: DicomJson | null): StowFailure[] {
  const items = (response?.['00081198']?.Value ?? []) as DicomJson[];
  return items.map(item => ({
    sopInstanceUID: stringValue(item, '00081155'),
    sopClassUID: stringValue(item, '00081150'),
    failureReason: firstValue<number>(item, '00081197'),
  }));
}
