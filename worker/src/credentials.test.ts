import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorizationFromText, brokerUrlWithCredentials, pacsEndpoint } from './credentials';

const basic = (pair: string) => `Basic ${Buffer.from(pair).toString('base64')}`;

/** A fresh directory for each test's credentials files. */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chestaid-credentials-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('pacsEndpoint', () => {
  it('takes the credentials out of the URL (fetch refuses a URL with them) and sends them as HTTP Basic', () => {
    const endpoint = pacsEndpoint('http://chestaid%40site:p%3Ass%20w@127.0.0.1:8042/dicom-web', '--pacs', undefined);
    expect(endpoint.url).toBe('http://127.0.0.1:8042/dicom-web');
    expect(endpoint.credentials).toBe('url');
    expect(endpoint.authorization()).toBe(basic('chestaid@site:p:ss w'));
    expect(() => new Request(endpoint.url)).not.toThrow();
  });

  it('without credentials sends none and keeps the URL as given', () => {
    const endpoint = pacsEndpoint('http://127.0.0.1:8042/dicom-web/', '--pacs', undefined);
    expect(endpoint).toMatchObject({ url: 'http://127.0.0.1:8042/dicom-web/', credentials: 'none' });
    expect(endpoint.authorization()).toBeUndefined();
  });

  it('reads a credentials file, and reads it again when it changes (a refreshed token)', () => {
    const file = join(dir, 'pacs.auth');
    writeFileSync(file, 'Bearer first-token\n');
    const endpoint = pacsEndpoint('https://pacs.example/dicom-web', '--pacs', file);
    expect(endpoint.credentials).toBe('file');
    expect(endpoint.authorization()).toBe('Bearer first-token');
    writeFileSync(file, 'Bearer second-token-longer\n');
    expect(endpoint.authorization()).toBe('Bearer second-token-longer');
    // Same size, new time: still read again.
    writeFileSync(file, 'Bearer third-token-longer!\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(endpoint.authorization()).toBe('Bearer third-token-longer!');
    // Gone or unreadable while being replaced: the last good value stays.
    rmSync(file);
    expect(endpoint.authorization()).toBe('Bearer third-token-longer!');
    writeFileSync(file, 'not valid at all\nsecond line\n');
    expect(endpoint.authorization()).toBe('Bearer third-token-longer!');
  });

  it('refuses what it cannot use at start-up, naming the file but never its content', () => {
    const file = join(dir, 'pacs.auth');
    expect(() => pacsEndpoint('http://pacs/dicom-web', '--pacs', file)).toThrow(/cannot read the PACS credentials file .*pacs\.auth/);
    writeFileSync(file, 'justasecret\n');
    let message = '';
    try {
      pacsEndpoint('http://pacs/dicom-web', '--pacs', file);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/expected user:password or a header value/);
    expect(message).not.toContain('justasecret');
    expect(() => pacsEndpoint('http://u:p@pacs/dicom-web', '--pacs', file)).toThrow('give the PACS credentials in --pacs or in the credentials file, not both');
    expect(() => pacsEndpoint('not a url', '--orthanc', undefined)).toThrow('--orthanc must be an absolute http(s) URL');
  });
});

describe('authorizationFromText', () => {
  it.each([
    ['chestaid:s3cret\n', basic('chestaid:s3cret')],
    ['  chestaid:with spaces and : colons  \r\n', basic('chestaid:with spaces and : colons')],
    ['admin:\n', basic('admin:')],
    ['Bearer eyJhbGciOi.J9.abc\n', 'Bearer eyJhbGciOi.J9.abc'],
    ['Basic Y2hlc3RhaWQ6czNjcmV0', 'Basic Y2hlc3RhaWQ6czNjcmV0'],
    ['Bearer   a:b', 'Bearer a:b'],
  ])('%j -> %s', (text, header) => {
    expect(authorizationFromText(text, 'f')).toBe(header);
  });

  it.each(['', '\n\n', ':no-user', 'a:b\nc:d', 'nocolon'])('refuses %j', text => {
    expect(() => authorizationFromText(text, 'f')).toThrow(/^f: expected/);
  });
});

describe('brokerUrlWithCredentials', () => {
  it('puts the file\'s user and password into the URL, escaped, and leaves a URL without a file alone', () => {
    const file = join(dir, 'broker.auth');
    writeFileSync(file, 'chestaid:p@ss:w/rd %x\n');
    const url = new URL(brokerUrlWithCredentials('amqps://rabbit.example:5671/chestaid', '--broker', file));
    expect([decodeURIComponent(url.username), decodeURIComponent(url.password), url.host, url.pathname]).toEqual(['chestaid', 'p@ss:w/rd %x', 'rabbit.example:5671', '/chestaid']);
    expect(brokerUrlWithCredentials('amqp://guest:guest@127.0.0.1:5672', '--broker', undefined)).toBe('amqp://guest:guest@127.0.0.1:5672');
  });

  it('refuses both at once, an unreadable or malformed file, and what amqplib would decode wrongly', () => {
    const file = join(dir, 'broker.auth');
    expect(() => brokerUrlWithCredentials('amqp://127.0.0.1', '--broker', file)).toThrow(/cannot read the broker credentials file/);
    writeFileSync(file, 'u:p\n');
    expect(() => brokerUrlWithCredentials('amqp://guest:guest@127.0.0.1', '--broker', file)).toThrow('not both');
    for (const bad of ['nocolon\n', 'a:b\nc:d\n', ':p\n', 'chestaid:pässword\n']) {
      writeFileSync(file, bad);
      expect(() => brokerUrlWithCredentials('amqp://127.0.0.1', '--broker', file)).toThrow(/expected one line, user:password|printable ASCII/);
    }
  });
});
