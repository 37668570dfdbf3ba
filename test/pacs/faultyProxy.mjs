/* global setTimeout */
import { createServer } from 'node:http';

/**
 * A proxy to `target` (an Orthanc) that misbehaves as `fault()` says at the time: on GET
 * /dicom-web/studies it ignores offset or limit, caps pages with Warning 299, answers HTML or cuts
 * the body; with 'stall-instance' it never answers a WADO-RS instance retrieval (the pixels), and
 * calls `onStall` when one arrives; with 'no-transcoding' it answers 406 Not Acceptable to an
 * instance retrieval that asks for a transfer syntax other than `*` (a PACS that cannot transcode).
 * `fault` is given the request's path, for a fault on one image only.
 */
export function faultyProxy(target, fault, { onStall = () => undefined } = {}) {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, 'http://proxy');
    const listing = request.method === 'GET' && url.pathname === '/dicom-web/studies';
    const pixels = request.method === 'GET' && /\/instances\/[0-9.]+$/.test(url.pathname);
    if (pixels && fault(url.pathname) === 'stall-instance') {
      onStall(url.pathname);
      return; // never answered; the client's abort closes it
    }
    const accept = String(request.headers.accept ?? '');
    if (pixels && fault(url.pathname) === 'no-transcoding' && /transfer-syntax=(?!\*)/.test(accept)) {
      response.writeHead(406, { 'content-type': 'text/plain' });
      response.end('this PACS does not transcode');
      return;
    }
    const mode = listing ? fault(url.pathname) : 'none';
    if (mode === 'html') {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><body>Please log in</body></html>');
      return;
    }
    if (mode === 'ignores-offset') url.searchParams.delete('offset');
    if (mode === 'ignores-limit') {
      url.searchParams.delete('limit');
      url.searchParams.delete('offset');
    }
    const cap = mode === 'caps-299' ? 1 : null;
    if (cap !== null) url.searchParams.set('limit', String(Math.min(cap, Number(url.searchParams.get('limit') ?? cap))));
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const upstream = await fetch(`${target}${url.pathname}${url.search}`, {
      method: request.method,
      headers: Object.fromEntries(Object.entries(request.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))),
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    const headers = { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream', 'content-length': String(body.length) };
    if (cap !== null && body.length > 2 && JSON.parse(body.toString()).length >= cap) headers.warning = '299 proxy: "There are more matches than the limit"';
    response.writeHead(upstream.status, headers);
    if (mode === 'cut') {
      response.write(body.subarray(0, Math.floor(body.length / 2)));
      setTimeout(() => response.socket.destroy(), 20);
      return;
    }
    response.end(body);
  });
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server)));
}
