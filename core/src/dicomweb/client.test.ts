import {
  DicomWebClient,
  NO_RETRY,
  PacsBadAnswer,
  PacsHttpError,
  ResponseTooLarge,
  PacsUnreachable,
  StowError,
  backoffDelay,
  isRetryable,
  multipartBody,
  parseMultipart,
  withRetry,
} from './client';

const bytes = (...values: number[]) => new Uint8Array(values).buffer;

describe('multipart bodies', () => {
  it('splits what it joins, keeping each part byte for byte, CRLFs inside parts included', () => {
    const parts = [bytes(1, 2, 3), bytes(0x0d, 0x0a, 0x2d, 0x2d, 0x0d, 0x0a), bytes()];
    const body = multipartBody(parts, 'b0und');
    const back = parseMultipart(body.buffer, 'multipart/related; type="application/dicom"; boundary=b0und');
    expect(back.map(p => Array.from(new Uint8Array(p)))).toEqual(parts.map(p => Array.from(new Uint8Array(p))));
  });

  it('reads a quoted boundary and refuses a response that is not multipart', () => {
    const body = multipartBody([bytes(9)], 'q');
    expect(parseMultipart(body.buffer, 'multipart/related; boundary="q"')).toHaveLength(1);
    expect(() => parseMultipart(body.buffer, 'application/dicom')).toThrow(/not a multipart response \(Content-Type: application\/dicom\)/);
  });
});

describe('retry policy', () => {
  it('retries no answer, 5xx, 408 and 429, and never other client errors', () => {
    expect(isRetryable(new PacsUnreachable('u', new Error('ECONNREFUSED')))).toBe(true);
    expect(isRetryable(new PacsHttpError('u', 503, ''))).toBe(true);
    expect(isRetryable(new PacsHttpError('u', 429, ''))).toBe(true);
    expect(isRetryable(new PacsHttpError('u', 404, ''))).toBe(false);
    expect(isRetryable(new StowError('u', 409, [{ sopInstanceUID: '1.2', failureReason: 0xa700 }], []))).toBe(false);
    expect(isRetryable(new Error('a bug'))).toBe(false);
  });

  it('doubles the delay up to the cap, randomising only the jitter share', () => {
    const policy = { retries: 9, baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5].map(a => backoffDelay(a, policy, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect(backoffDelay(3, policy, () => 0.999999)).toBeCloseTo(400, 3);
  });

  it('gives up after the policy allows, throwing the last error, and reports each wait', async () => {
    const waits: number[] = [];
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new PacsHttpError('u', 502, 'bad gateway'));
    };
    await expect(
      withRetry(failing, { retries: 3, baseDelayMs: 10, maxDelayMs: 100, jitter: 0 }, { sleep: async ms => void waits.push(ms) }),
    ).rejects.toThrow(/502/);
    expect(calls).toBe(4);
    expect(waits).toEqual([10, 20, 40]);
  });

  it('stops at once on an error a retry cannot fix', async () => {
    let calls = 0;
    await expect(
      withRetry(() => {
        calls++;
        return Promise.reject(new PacsHttpError('u', 400, 'bad query'));
      }, { retries: 5, baseDelayMs: 1, maxDelayMs: 1, jitter: 0 }, { sleep: async () => undefined }),
    ).rejects.toThrow(/400/);
    expect(calls).toBe(1);
  });
});

describe('DicomWebClient', () => {
  const answer = (status: number, body: string, contentType = 'application/dicom+json') =>
    Promise.resolve(new Response(status === 204 ? null : body, { status, headers: { 'Content-Type': contentType } }));

  it('sends repeated keys for list values and reads an empty answer as no match', async () => {
    const seen: string[] = [];
    const client = new DicomWebClient({ baseUrl: 'http://pacs/dicom-web/', retry: NO_RETRY, fetch: url => (seen.push(url), answer(204, '')) });
    expect(await client.searchStudies({ ModalitiesInStudy: ['CR', 'DX'], limit: 5, offset: undefined })).toEqual([]);
    expect(seen).toEqual(['http://pacs/dicom-web/studies?ModalitiesInStudy=CR&ModalitiesInStudy=DX&limit=5']);
  });

  it('refuses a UID that is not one, before any request', () => {
    const client = new DicomWebClient({ baseUrl: 'http://pacs', fetch: () => answer(200, '[]') });
    expect(() => client.searchSeries('1.2/../../admin')).toThrow(/not a DICOM UID: "1.2\/..\/..\/admin"/);
  });

  it('turns a STOW answer listing failed instances into a StowError naming them', async () => {
    const response = {
      '00081198': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.2.3'] }, '00081197': { vr: 'US', Value: [0xc000] } }] },
    };
    const client = new DicomWebClient({ baseUrl: 'http://pacs', retry: NO_RETRY, fetch: () => answer(409, JSON.stringify(response)) });
    await expect(client.store([bytes(1)])).rejects.toThrow(/1\.2\.3 reason 49152/);
  });

  it('reads an HTML page answered with 200 as a PacsBadAnswer, not a parse crash, and does not retry it', async () => {
    let calls = 0;
    const client = new DicomWebClient({
      baseUrl: 'http://pacs',
      retry: { retries: 3, baseDelayMs: 0, maxDelayMs: 0, jitter: 0 },
      fetch: () => (calls++, answer(200, '<html>login</html>', 'text/html')),
    });
    const failure = client.searchStudies();
    await expect(failure).rejects.toBeInstanceOf(PacsBadAnswer);
    await expect(failure).rejects.toThrow(/Content-Type text\/html, not DICOM JSON/);
    expect(calls).toBe(1);
  });

  it('reads JSON cut short as a PacsBadAnswer naming the parse error', async () => {
    const client = new DicomWebClient({ baseUrl: 'http://pacs', retry: NO_RETRY, fetch: () => answer(200, '[{"0020000D":') });
    await expect(client.searchStudies()).rejects.toThrow(/the JSON does not parse/);
  });

  it('turns a body that breaks off mid-read into PacsUnreachable, retried like no answer', async () => {
    let calls = 0;
    const broken = () => {
      calls++;
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('[{"0020000D"'));
          controller.error(new TypeError('terminated'));
        },
      });
      return Promise.resolve(new Response(body, { status: 200, headers: { 'Content-Type': 'application/dicom+json' } }));
    };
    const client = new DicomWebClient({ baseUrl: 'http://pacs', retry: { retries: 2, baseDelayMs: 0, maxDelayMs: 0, jitter: 0 }, fetch: broken });
    await expect(client.searchStudies()).rejects.toBeInstanceOf(PacsUnreachable);
    expect(calls).toBe(3);
  });

  it('returns the Warning headers of a QIDO page (a server capping its answer says so with 299)', async () => {
    const client = new DicomWebClient({
      baseUrl: 'http://pacs',
      retry: NO_RETRY,
      fetch: () => Promise.resolve(new Response('[]', { status: 200, headers: { 'Content-Type': 'application/dicom+json', Warning: '299 pacs: "There are more matches than the limit"' } })),
    });
    expect(await client.searchStudiesPage({ limit: 5 })).toEqual({ matches: [], warnings: ['299 pacs: "There are more matches than the limit"'] });
  });

  it('stops reading an instance past the byte cap, declared or streamed', async () => {
    const multipart = multipartBody([new Uint8Array(5000).buffer], 'b');
    const type = 'multipart/related; type="application/dicom"; boundary=b';
    const declared = new DicomWebClient({
      baseUrl: 'http://pacs',
      retry: NO_RETRY,
      fetch: () => Promise.resolve(new Response(multipart, { status: 200, headers: { 'Content-Type': type, 'Content-Length': String(multipart.byteLength) } })),
    });
    await expect(declared.retrieveInstance('1.2', '1.3', '1.4', { maxBytes: 1000 })).rejects.toBeInstanceOf(ResponseTooLarge);
    const streamed = new DicomWebClient({
      baseUrl: 'http://pacs',
      retry: NO_RETRY,
      fetch: () => Promise.resolve(new Response(new Blob([multipart]).stream(), { status: 200, headers: { 'Content-Type': type } })),
    });
    await expect(streamed.retrieveInstance('1.2', '1.3', '1.4', { maxBytes: 1000 })).rejects.toThrow(/sent more than the cap of 1000 bytes/);
    expect((await streamed.retrieveInstance('1.2', '1.3', '1.4', { maxBytes: 10_000 })).byteLength).toBe(5000);
  });

  it('asks for the transfer syntax it is told to', async () => {
    const seen: (string | null)[] = [];
    const client = new DicomWebClient({
      baseUrl: 'http://pacs',
      retry: NO_RETRY,
      fetch: (_url, init) => {
        seen.push(new Headers(init?.headers).get('accept'));
        return Promise.resolve(new Response(multipartBody([bytes(1)], 'b'), { status: 200, headers: { 'Content-Type': 'multipart/related; boundary=b' } }));
      },
    });
    await client.retrieveInstance('1.2', '1.3', '1.4', { transferSyntax: '1.2.840.10008.1.2.1' });
    await client.retrieveInstance('1.2', '1.3', '1.4');
    expect(seen).toEqual(['multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1', 'multipart/related; type="application/dicom"; transfer-syntax=*']);
  });

  it('retries a retrieval under the policy it is given, the client’s otherwise', async () => {
    let calls = 0;
    const client = new DicomWebClient({
      baseUrl: 'http://pacs',
      retry: { retries: 2, baseDelayMs: 0, maxDelayMs: 0, jitter: 0 },
      fetch: () => {
        calls++;
        return Promise.resolve(new Response('cannot transcode', { status: 500 }));
      },
    });
    await expect(client.retrieveInstance('1.2', '1.3', '1.4', { transferSyntax: '1.2.840.10008.1.2.1', retry: NO_RETRY })).rejects.toThrow(/PACS answered 500/);
    expect(calls).toBe(1);
    await expect(client.retrieveInstance('1.2', '1.3', '1.4')).rejects.toThrow(/PACS answered 500/);
    expect(calls).toBe(4);
  });
});
