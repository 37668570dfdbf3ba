/**
 * The fetch the worker's DICOMweb client uses.
 *
 * - A deadline per request and the end of the grace period: a hung PACS cannot hang the worker.
 * - `Accept-Encoding: identity`: Node's fetch asks for gzip by default, and Orthanc (1.10; its
 *   `HttpCompressionEnabled` is on by default) then compresses every image it sends. Measured here
 *   on the demo radiographs (200 KiB each): retrieving one cost Orthanc 16 ms of CPU with gzip and
 *   1.0-1.4 ms without, 22 ms against 4 ms of wall time (docs/performance.md). The worker runs
 *   beside its PACS, where the bytes saved are not worth the CPU, and that CPU is the one every
 *   worker and every viewer of the site shares. A caller that names an encoding keeps it.
 * - The site's credentials for the PACS, when it asks for them (credentials.ts), unless the caller
 *   sends its own.
 */
import type { FetchLike } from '@chestaid/core';

export interface PacsFetchOptions {
  /** The Authorization header value for each request (PacsEndpoint.authorization). */
  readonly authorization?: () => string | undefined;
  readonly fetchImpl?: typeof fetch;
}

export function pacsFetch(timeoutMs: number, abandon: AbortSignal, { authorization, fetchImpl = fetch }: PacsFetchOptions = {}): FetchLike {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    if (!headers.has('Accept-Encoding')) headers.set('Accept-Encoding', 'identity');
    const credentials = authorization?.();
    if (credentials !== undefined && !headers.has('Authorization')) headers.set('Authorization', credentials);
    return fetchImpl(input, { ...init, headers, signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), abandon]) });
  };
}
