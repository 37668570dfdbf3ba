import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { pacsFetch } from './pacsFetch';

/** A server that gzips its answer when asked to, as Orthanc does, and reports what it was sent. */
function start(): Promise<{ server: Server; url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const body = Buffer.from('pixels '.repeat(1000));
    if (/gzip/.test(req.headers['accept-encoding'] ?? '')) res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipSync(body));
    else res.writeHead(200).end(body);
  });
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen })));
}

describe('pacsFetch', () => {
  let ctx: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    ctx = await start();
  });
  afterAll(() => new Promise(resolve => ctx.server.close(resolve)));

  it('asks the PACS not to compress (plain fetch would ask for gzip), keeping the caller headers', async () => {
    const plain = await fetch(ctx.url);
    expect(plain.ok).toBe(true);
    expect(ctx.seen.at(-1)?.['accept-encoding']).toMatch(/gzip/);

    const answer = await pacsFetch(5000, new AbortController().signal)(ctx.url, { headers: { Accept: 'application/dicom+json' } });
    expect(await answer.text()).toBe('pixels '.repeat(1000));
    expect(ctx.seen.at(-1)?.['accept-encoding']).toBe('identity');
    expect(ctx.seen.at(-1)?.accept).toBe('application/dicom+json');
  });

  it('keeps an encoding the caller names', async () => {
    await pacsFetch(5000, new AbortController().signal)(ctx.url, { headers: new Headers({ 'Accept-Encoding': 'gzip' }) });
    expect(ctx.seen.at(-1)?.['accept-encoding']).toBe('gzip');
  });

  it('sends the site\'s credentials as they are now, unless the caller sends its own', async () => {
    let current: string | undefined = 'Basic Y2hlc3RhaWQ6czNjcmV0';
    const get = pacsFetch(5000, new AbortController().signal, { authorization: () => current });
    await get(ctx.url);
    expect(ctx.seen.at(-1)?.authorization).toBe('Basic Y2hlc3RhaWQ6czNjcmV0');
    current = 'Bearer refreshed';
    await get(ctx.url);
    expect(ctx.seen.at(-1)?.authorization).toBe('Bearer refreshed');
    await get(ctx.url, { headers: { Authorization: 'Bearer the-caller' } });
    expect(ctx.seen.at(-1)?.authorization).toBe('Bearer the-caller');
    current = undefined;
    await get(ctx.url);
    expect(ctx.seen.at(-1)?.authorization).toBeUndefined();
  });

  it('gives up at its deadline and when the grace period ends', async () => {
    const hung: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    await expect(pacsFetch(50, new AbortController().signal, { fetchImpl: hung })(ctx.url)).rejects.toThrow(/timed out|aborted/i);
    const abandon = new AbortController();
    const pending = pacsFetch(60_000, abandon.signal, { fetchImpl: hung })(ctx.url);
    abandon.abort(new Error('grace period over'));
    await expect(pending).rejects.toThrow('grace period over');
  });
});
