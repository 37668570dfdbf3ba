/**
 * The credentials the worker and the feeder show the PACS and the broker, kept off the command
 * line where the site wants them off it (`ps` shows every process's arguments to every local user).
 *
 * The PACS often asks for them: Orthanc with `AuthenticationEnabled` (HTTP Basic), a DICOMweb
 * server behind a proxy that wants a bearer token. Two ways to give them, one at a time:
 *
 * - in the URL, `http://user:password@host/dicom-web`, as the broker's URL carries its own. Node's
 *   fetch refuses a URL with credentials in it, so they are taken out and sent as HTTP Basic; the
 *   URL the worker uses and logs has none.
 * - in a file (`--pacs-auth-file`, the feeder's `--orthanc-auth-file`): one line, `user:password`
 *   (sent as HTTP Basic) or a whole header value such as `Bearer <token>`. The file is read again
 *   when it changes, so a token refreshed by another process is used from the next request; a file
 *   that cannot be read or parsed any more keeps the last good value.
 *
 * The broker's user and password go in its URL (`amqps://user:password@host/vhost`) or, with
 * `--broker-auth-file`, in a file of one line `user:password`, read once at start (a connection
 * authenticates when it opens).
 */
import { readFileSync, statSync } from 'node:fs';

export interface PacsEndpoint {
  /** The URL without credentials: the one to request and to log. */
  readonly url: string;
  /** The Authorization header value for the next request; undefined without credentials. */
  readonly authorization: () => string | undefined;
  /** Where the credentials come from, for the start-up log: never the secret itself. */
  readonly credentials: 'none' | 'url' | 'file';
}

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

/** The one non-blank line of a credentials file, trimmed; `expected` says what it should hold. */
function oneLine(text: string, file: string, expected: string): string {
  const lines = text.split(/\r?\n/).map(line => line.trim()).filter(line => line !== '');
  if (lines.length !== 1) throw new CredentialsError(`${file}: expected one line, ${expected}, found ${lines.length}`);
  return lines[0];
}

/** A header value from the file's text: `user:password`, or a scheme and its credentials (`Bearer abc`). */
export function authorizationFromText(text: string, file: string): string {
  const line = oneLine(text, file, 'user:password or a header value such as "Bearer <token>"');
  if (/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]* +\S/.test(line) && !/^[^\s:]*:/.test(line)) return line.replace(/ +/, ' ');
  const colon = line.indexOf(':');
  if (colon > 0) return basic(line.slice(0, colon), line.slice(colon + 1));
  throw new CredentialsError(`${file}: expected user:password or a header value such as "Bearer <token>"`);
}

/** Reads `file` now (a problem is an error at start-up) and again whenever it changes. */
function fromFile(file: string): () => string {
  const read = () => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new CredentialsError(`cannot read the PACS credentials file ${file}: ${(error as Error).message}`);
    }
    return authorizationFromText(text, file);
  };
  const stamp = () => {
    const s = statSync(file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  };
  // The stamp before the read: a change between them is seen at the next request.
  let seen = '';
  try {
    seen = stamp();
  } catch {
    // read() says why
  }
  let value = read();
  return () => {
    try {
      const now = stamp();
      if (now !== seen) {
        value = read();
        seen = now;
      }
    } catch {
      // Removed or half-written while being replaced: keep the last good value; the PACS says if it no longer holds.
    }
    return value;
  };
}

/** The endpoint named by `raw` (a command-line URL) with the credentials of its URL or of `authFile`. */
export function pacsEndpoint(raw: string, option: string, authFile: string | undefined): PacsEndpoint {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CredentialsError(`${option} must be an absolute http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    if (url.password) url.password = '***';
    throw new CredentialsError(`${option} must be http or https, got ${JSON.stringify(url.toString())}`);
  }
  const inUrl = url.username !== '' || url.password !== '';
  if (inUrl && authFile !== undefined) throw new CredentialsError(`give the PACS credentials in ${option} or in the credentials file, not both`);
  if (inUrl) {
    const header = basic(decodeURIComponent(url.username), decodeURIComponent(url.password));
    url.username = '';
    url.password = '';
    return { url: url.toString(), authorization: () => header, credentials: 'url' };
  }
  if (authFile !== undefined) return { url: raw, authorization: fromFile(authFile), credentials: 'file' };
  return { url: raw, authorization: () => undefined, credentials: 'none' };
}

/** The broker URL with the user and password of `authFile` (one line `user:password`) in it. */
export function brokerUrlWithCredentials(raw: string, option: string, authFile: string | undefined): string {
  if (authFile === undefined) return raw;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CredentialsError(`${option} must be an amqp:// or amqps:// URL`);
  }
  if (url.username !== '' || url.password !== '') throw new CredentialsError(`give the broker's user and password in ${option} or in the credentials file, not both`);
  let text: string;
  try {
    text = readFileSync(authFile, 'utf8');
  } catch (error) {
    throw new CredentialsError(`cannot read the broker credentials file ${authFile}: ${(error as Error).message}`);
  }
  const line = oneLine(text, authFile, 'user:password');
  const colon = line.indexOf(':');
  if (colon <= 0) throw new CredentialsError(`${authFile}: expected one line, user:password`);
  // amqplib decodes the URL's user and password with unescape(): byte by byte, so only ASCII survives.
  if (/[^\x20-\x7e]/.test(line)) throw new CredentialsError(`${authFile}: the broker's user and password must be printable ASCII`);
  url.username = encodeURIComponent(line.slice(0, colon));
  url.password = encodeURIComponent(line.slice(colon + 1));
  return url.toString();
}
