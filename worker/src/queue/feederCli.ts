/**
 * `npm run feeder -- --orthanc http://127.0.0.1:8042 --broker amqp://guest:guest@127.0.0.1:5672`:
 * the feeder (feeder.ts) as a service. Run one per PACS; a second one would only publish the same
 * studies twice (harmless: the workers skip what is done, but wasteful).
 *
 * Exit codes: 0 stopped (SIGTERM/SIGINT) or --once caught up; 2 bad command line or a queue the
 * broker refuses to redeclare; 4 --once: the PACS or the broker could not be reached.
 */
import { parseArgs } from 'node:util';

import { messageOf } from '@chestaid/core';
import { jsonLogger, type Logger } from '../log';
import { brokerUrlWithCredentials, type PacsEndpoint, pacsEndpoint } from '../credentials';
import { pacsFetch } from '../pacsFetch';
import { Feeder, OrthancChangeFeed } from './feeder';
import { redact } from './queueWorker';
import { TopologyError } from './topology';

/** One read of the change feed may take this long (the PACS's answer to a small JSON page). */
const FEED_REQUEST_TIMEOUT_MS = 60_000;

export const FEEDER_USAGE = `ChestAid feeder: turns new stable studies in Orthanc into jobs for the triage workers.

  npm run feeder -- --orthanc URL --broker URL [options]

  --orthanc URL        Orthanc's REST root (not /dicom-web), e.g. http://127.0.0.1:8042 (required);
                       an Orthanc that asks for credentials: http://user:password@host:8042, or
  --orthanc-auth-file FILE
                       the credentials kept off the command line: one line, user:password (HTTP
                       Basic) or a header value such as "Bearer <token>"; read again when it changes
  --broker URL         RabbitMQ, e.g. amqp://guest:guest@127.0.0.1:5672 (required)
  --broker-auth-file FILE
                       the broker's user and password kept off the command line: one line,
                       user:password (read at start)
  --max-attempts N     the job queue's attempts per job; the workers' --max-attempts (default 3)
  --interval S         seconds between reads of the change feed (default 5)
  --batch N            changes per page of the feed (default 100)
  --once               read the feed up to its end, publish, exit

Exit codes: 0 clean stop or --once caught up; 2 bad configuration; 4 --once: PACS or broker unreachable.`;

export async function runFeeder(argv: readonly string[], logger: Logger = jsonLogger()): Promise<number> {
  let v;
  let orthanc: PacsEndpoint;
  let brokerUrl: string;
  try {
    v = parseArgs({
      args: [...argv],
      options: {
        orthanc: { type: 'string' },
        'orthanc-auth-file': { type: 'string' },
        'broker-auth-file': { type: 'string' },
        broker: { type: 'string' },
        'max-attempts': { type: 'string' },
        interval: { type: 'string' },
        batch: { type: 'string' },
        once: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
    if (v.help) {
      process.stdout.write(`${FEEDER_USAGE}\n`);
      return 0;
    }
    if (!v.orthanc || !/^https?:\/\//.test(v.orthanc)) throw new Error('--orthanc is required: Orthanc\'s REST root, e.g. http://127.0.0.1:8042');
    if (!v.broker || !/^amqps?:\/\//.test(v.broker)) throw new Error('--broker is required: an amqp:// URL, e.g. amqp://guest:guest@127.0.0.1:5672');
    orthanc = pacsEndpoint(v.orthanc, '--orthanc', v['orthanc-auth-file']);
    brokerUrl = brokerUrlWithCredentials(v.broker, '--broker', v['broker-auth-file']);
  } catch (error) {
    logger.log('error', 'bad-config', { error: (error as Error).message });
    process.stderr.write(`${(error as Error).message}\n\n${FEEDER_USAGE}\n`);
    return 2;
  }
  const positive = (name: string, raw: string | undefined, fallback: number, integer: boolean) => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!(Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`);
    return n;
  };
  let maxAttempts: number;
  let intervalMs: number;
  let batch: number;
  try {
    maxAttempts = positive('max-attempts', v['max-attempts'], 3, true);
    intervalMs = positive('interval', v.interval, 5, false) * 1000;
    batch = positive('batch', v.batch, 100, true);
  } catch (error) {
    logger.log('error', 'bad-config', { error: (error as Error).message });
    return 2;
  }

  // No abandon signal: a stop waits for the page in hand (its deadline is the request's).
  const feed = new OrthancChangeFeed(orthanc.url, pacsFetch(FEED_REQUEST_TIMEOUT_MS, new AbortController().signal, { authorization: orthanc.authorization }));
  const feeder = new Feeder({ feed, brokerUrl, logger, maxAttempts, batch });
  let stop = false;
  let wake: (() => void) | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    logger.log('info', 'stopping', { signal });
    stop = true;
    wake?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  logger.log('info', 'feeder-started', { orthanc: orthanc.url, orthancCredentials: orthanc.credentials, broker: redact(brokerUrl), intervalS: intervalMs / 1000, batch, once: v.once ?? false });
  try {
    while (!stop) {
      try {
        const result = await feeder.poll();
        if (v.once && result.caughtUp) {
          logger.log('info', 'stopped', { position: result.position });
          return 0;
        }
        if (!result.caughtUp) continue;
      } catch (error) {
        if (error instanceof TopologyError) {
          logger.log('error', 'bad-config', { error: error.message });
          return 2;
        }
        logger.log('error', 'feed-failed', { error: messageOf(error), then: v.once ? 'exit 4' : `trying again in ${intervalMs / 1000} s` });
        await feeder.close();
        if (v.once) return 4;
      }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    logger.log('info', 'stopped', {});
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await feeder.close();
  }
}

export async function feederMain(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const logger = jsonLogger();
  try {
    process.exitCode = await runFeeder(argv, logger);
  } catch (error) {
    logger.log('error', 'internal-error', { error: (error as Error).stack ?? String(error) });
    process.exitCode = 1;
  }
}
