/**
 * A small DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) for the viewer and the triage worker.
 *
 * It runs in the browser and in Node 20 on the global `fetch` (or one passed in, so tests and the
 * worker can add timeouts), and imports no framework. It speaks only to the one configured
 * DICOMweb root: patient data goes nowhere else.
 *
 * Errors say which request failed and why, in types a caller can act on: `PacsUnreachable` (the
 * server did not answer: worth retrying), `PacsHttpError` (it answered with an error status;
 * 5xx, 408 and 429 are worth retrying, other 4xx are not), `PacsBadAnswer` (it answered 2xx with a
 * body that is not what was asked for: HTML from a proxy, JSON cut short) and `StowError` (the
 * server stored some or none of the instances it was sent; it lists the failures).
 *
 * A body that breaks off mid-read (the connection reset, a timeout during the body) is the server
 * failing, not the data: it is a `PacsUnreachable`, read inside the retry like the headers, so a
 * caller never sees a raw TypeError from the fetch stream. `ResponseTooLarge` says that a body
 * passed the byte cap the caller set; the read stops there, nothing more is buffered.
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

/** The server answered 2xx with a body that is not what was asked for (HTML, cut-off JSON, no multipart). */
export class PacsBadAnswer extends PacsHttpError {
  constructor(url: string, status: number, readonly reason: string) {
    super(url, status, '');
    this.message = `PACS answered ${url} with something that is not DICOMweb: ${reason}`;
    this.name = 'PacsBadAnswer';
  }
}

/** A response body passed the byte cap its caller set; reading stopped there. */
export class ResponseTooLarge extends Error {
  constructor(readonly url: string, readonly maxBytes: number, readonly declared?: number) {
    super(
      declared !== undefined
        ? `${url} declares ${declared} bytes, over the cap of ${maxBytes}`
        : `${url} sent more than the cap of ${maxBytes} bytes; the read was stopped`,
    );
    this.name = 'ResponseTooLarge';
  }
}

/** One page of a QIDO-RS search, with the warnings the server attached (PS3.18 8.3.4.4: Warning 299). */
export interface QidoPage {
  readonly matches: DicomJson[];
  /** The text of each `Warning` header, e.g. `299 {host}: "There are more matches than the limit"`. */
  readonly warnings: readonly string[];
}

/** How to ask for one instance. */
export interface RetrieveOptions {
  /** The transfer syntax to ask for (`Accept: ...; transfer-syntax=`); default `*`, as stored. */
  readonly transferSyntax?: string;
  /** Stop reading past this many body bytes (ResponseTooLarge), so a huge image cannot exhaust memory. */
  readonly maxBytes?: number;
  /** This request's retries instead of the client's (a request with a fallback need not be retried). */
  readonly retry?: RetryPolicy;
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
  if (error instanceof PacsBadAnswer) return false;
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
    const { body } = await this.read(`/studies/${uid(studyUID)}/series/${uid(seriesUID)}/metadata`, { headers: { Accept: 'application/dicom+json' } }, json);
    return body as DicomJson[];
  }

  /** WADO-RS metadata of one instance. */
  async retrieveInstanceMetadata(studyUID: string, seriesUID: string, sopUID: string): Promise<DicomJson> {
    const { body } = await this.read(
      `/studies/${uid(studyUID)}/series/${uid(seriesUID)}/instances/${uid(sopUID)}/metadata`,
      { headers: { Accept: 'application/dicom+json' } },
      json,
    );
    if (!Array.isArray(body) || body.length !== 1) throw new Error(`WADO-RS metadata of ${sopUID}: expected one dataset, got ${Array.isArray(body) ? body.length : typeof body}`);
    return body[0] as DicomJson;
  }

  /** WADO-RS: one instance as DICOM Part 10 bytes, in the transfer syntax asked for (default: as stored). */
  async retrieveInstance(studyUID: string, seriesUID: string, sopUID: string, options: RetrieveOptions = {}): Promise<ArrayBuffer> {
    const { body: parts } = await this.read(
      `/studies/${uid(studyUID)}/series/${uid(seriesUID)}/instances/${uid(sopUID)}`,
      { headers: { Accept: `multipart/related; type="application/dicom"; transfer-syntax=${options.transferSyntax ?? '*'}` } },
      async (response, url) => {
        const bytes = await readCapped(response, url, options.maxBytes);
        try {
          return parseMultipart(bytes, response.headers.get('content-type') ?? '');
        } catch (error) {
          throw new PacsBadAnswer(url, response.status, (error as Error).message);
        }
      },
      options.retry,
    );
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

  /** QIDO-RS /studies, one page, with the server's Warning headers (a server may cap a page below `limit` and say so). */
  async searchStudiesPage(query: QidoQuery = {}): Promise<QidoPage> {
    const { body, response } = await this.read('/studies' + queryString(query), { headers: { Accept: 'application/dicom+json' } }, qidoBody);
    const warning = response.headers.get('warning');
    return { matches: body, warnings: warning ? warning.split(/,\s*(?=\d{3}\s)/) : [] };
  }

  private async qido(path: string, query: QidoQuery): Promise<DicomJson[]> {
    return (await this.read(path + queryString(query), { headers: { Accept: 'application/dicom+json' } }, qidoBody)).body;
  }

  /**
   * One request and its body, read inside the retry: a body that breaks off is the server
   * failing (PacsUnreachable, retried), a body that is not what was asked for is a PacsBadAnswer.
   */
  private read<T>(
    path: string,
    init: RequestInit,
    parse: (response: Response, url: string) => Promise<T>,
    retry: RetryPolicy = this.retry,
  ): Promise<{ body: T; response: Response }> {
    const url = this.url(path);
    return withRetry(
      async () => {
        const response = await this.send(url, init);
        if (!response.ok) throw new PacsHttpError(url, response.status, await response.text().catch(() => ''));
        try {
          return { body: await parse(response, url), response };
        } catch (error) {
          if (error instanceof PacsBadAnswer || error instanceof ResponseTooLarge || error instanceof PacsHttpError) throw error;
          throw new PacsUnreachable(url, error);
        }
      },
      retry,
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

/** A DICOM JSON body; anything else (an HTML page a proxy answered with 200, JSON cut short) is a PacsBadAnswer. */
async function json(response: Response, url: string): Promise<unknown> {
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  if (!/json/i.test(type)) throw new PacsBadAnswer(url, response.status, `Content-Type ${type || 'none'}, not DICOM JSON (${JSON.stringify(text.slice(0, 60))})`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PacsBadAnswer(url, response.status, `the JSON does not parse (${(error as Error).message}); the body was ${text.length} characters`);
  }
}

/** QIDO-RS answers 204 (or an empty body) when nothing matches; else a JSON array. */
async function qidoBody(response: Response, url: string): Promise<DicomJson[]> {
  if (response.status === 204) return [];
  const text = await response.text();
  if (!text) return [];
  const type = response.headers.get('content-type') ?? '';
  if (!/json/i.test(type)) throw new PacsBadAnswer(url, response.status, `Content-Type ${type || 'none'}, not DICOM JSON (${JSON.stringify(text.slice(0, 60))})`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new PacsBadAnswer(url, response.status, `the JSON does not parse (${(error as Error).message}); the body was ${text.length} characters`);
  }
  if (!Array.isArray(body)) throw new PacsBadAnswer(url, response.status, `a QIDO-RS answer must be a JSON array, got ${typeof body}`);
  return body as DicomJson[];
}

/** The body as bytes, stopped at `maxBytes` (a declared Content-Length over it is refused before reading). */
async function readCapped(response: Response, url: string, maxBytes: number | undefined): Promise<ArrayBuffer> {
  if (maxBytes === undefined || !response.body) return response.arrayBuffer();
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw new ResponseTooLarge(url, maxBytes, declared);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge(url, maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out.buffer;
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
