/**
 * `npm run worker -- --pacs http://127.0.0.1:8042/dicom-web [options]`: the headless triage worker.
 *
 * Exit codes (for a service manager; also in --help):
 *   0  stopped cleanly (SIGTERM/SIGINT), or --once finished a pass in which every image was
 *      scored or skipped
 *   1  an unexpected internal error (a bug: the log line says where)
 *   2  bad command line or configuration: an unreadable state file, a --calibration-dir that does
 *      not exist, or a calibration log that is missing, truncated, rewound, torn or fails
 *      verification (at start or when it changes while running; the log line names the entry)
 *   3  the model cannot be used: manifest invalid, ONNX file missing, or its sha256 differs
 *   4  --once: the PACS could not be reached (after retries); nothing was lost, run again
 *   5  --once: the pass finished, but some images failed (retried on the next run up to
 *      --max-attempts, then dead-lettered in the state file)
 *
 * With --broker the worker consumes jobs from RabbitMQ (queue/queueWorker.ts) instead of
 * polling; the feeder (feeder.ts, `npm run feeder`) puts new studies there.
 */
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { DicomWebClient, type RetryPolicy } from '@chestaid/core';
import { CalibrationError, isDirectory, StateHeadMemory, trustedHeadKey, WatchedCalibration } from './calibration';
import { startHealthServer } from './health';
import type { ScoringContext } from './scoringContext';
import { jsonLogger, ms, type Logger } from './log';
import { loadModel, ModelError } from './model';
import { brokerUrlWithCredentials, type PacsEndpoint, pacsEndpoint } from './credentials';
import { pacsFetch } from './pacsFetch';
import { parseShard, WHOLE, type Shard } from './shard';
import { StateFileError, WorkerState } from './state';
import { QueueWorker, redact } from './queue/queueWorker';
import { TopologyError } from './queue/topology';
import { TriageWorker } from './worker';

export const EXIT = Object.freeze({ ok: 0, internal: 1, config: 2, model: 3, pacsUnreachable: 4, itemsFailed: 5 });

export const USAGE = `ChestAid triage worker: scores new CR/DX images in a DICOMweb PACS and stores a DICOM SR and heatmap for each.

  npm run worker -- --pacs URL [options]

  --pacs URL             DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web (required); a PACS
                         that asks for credentials: http://user:password@host/dicom-web (sent as
                         HTTP Basic), or --pacs-auth-file
  --pacs-auth-file FILE  the PACS credentials, kept off the command line: one line, user:password
                         (HTTP Basic) or a header value such as "Bearer <token>"; read again when
                         the file changes
  --model PATH           model manifest (default models/chestaid-demo/manifest.json)
  --calibration-dir DIR  the site's calibration log (log.jsonl, overlays/), as the viewer and the
                         calibration CLI use it (default: <manifest dir>/calibration). It must hold
                         a log (\`chestaid-recalibrate --init\` makes an empty one). The log is
                         verified and the active version scored under; a change is picked up at the
                         next poll, and images are scored again under the new version. A log that
                         is missing, truncated, rewound (against the head this worker last trusted,
                         kept in --state, and the log's active.json), torn or fails verification
                         stops the worker (exit 2), with the reason
  --no-site-calibration  score under the manifest's own calibration, reading no log: the site's
                         explicit choice, never the fallback for a log that is not there
  --broker URL           consume jobs from RabbitMQ (amqp://user:password@host:port) instead of
                         polling the PACS: any number of workers on any machines share one queue,
                         fed by \`npm run feeder\`. A job is acked once its result is in the PACS; a
                         worker that dies holding one gives it back, counted as an attempt
  --broker-auth-file FILE
                         with --broker: the broker's user and password kept off the command line,
                         one line user:password (read at start)
  --prefetch N           with --broker: jobs in hand at once (default 2; a retried image is scored alone)
  --grace S              on SIGTERM, how long the image (with --broker: the jobs) in hand may
                         finish before its PACS requests are aborted (default 30); with --broker
                         the jobs go back to the queue
  --exit-when-idle S     with --broker: stop once no job came for S seconds (a drain)
  --once                 one pass, then exit (exit code says how it went)
  --interval S           seconds between polls (default 30)
  --state FILE           remember studies, failures and the dead-letter list here (default: none;
                         the PACS alone decides what is done)
  --shard i/n            take only the studies whose StudyInstanceUID hashes to i mod n
  --max-attempts N       attempts per image before it is dead-lettered (default 3); with --broker,
                         the queue's delivery limit, which every worker must agree on
  --health-port P        serve GET /healthz on 127.0.0.1:P (0 picks a free port)
  --unhealthy-after S    /healthz answers 503 once the PACS has been unreachable this long (default 60)
  --threads N            onnxruntime intra-op threads (default: onnxruntime's choice)
  --model-file NAME      run this ONNX file of the manifest (onnx.file or one of onnx.variants,
                         e.g. model.int8.onnx, under its own calibration; default onnx.file)
  --retries N            retries per PACS request (default 4), with exponential backoff and jitter
  --retry-base-ms MS     first backoff (default 250); doubles up to --retry-max-ms (default 8000)
  --request-timeout S    give up on one PACS request after this long (default 60)
  --page-size N          studies per QIDO-RS page (default 100)
  --since YYYYMMDD       list only studies with StudyDate on or after this day (bounds each poll on
                         a large archive; a study acquired earlier but sent later is not seen)

Exit codes: 0 clean stop or clean --once pass; 1 internal error; 2 bad configuration (a calibration
log missing, cut back, rewound, torn or corrupt included); 3 model
missing, invalid or tampered with; 4 PACS unreachable (--once); 5 some images failed (--once).`;

export interface CliOptions {
  /** The DICOMweb root, without credentials. */
  readonly pacs: string;
  /** Where the PACS credentials come from, and the header value for each request (credentials.ts). */
  readonly pacsCredentials: Pick<PacsEndpoint, 'credentials' | 'authorization'>;
  readonly model: string;
  /** The calibration directory, and whether it was named (a named one must exist); null: --no-site-calibration. */
  readonly calibrationDir: { readonly path: string; readonly named: boolean } | null;
  readonly once: boolean;
  readonly intervalMs: number;
  readonly state: string | null;
  readonly shard: Shard;
  readonly maxAttempts: number;
  readonly healthPort: number | null;
  readonly unhealthyAfterMs: number;
  readonly threads: number | undefined;
  readonly modelFile: string | undefined;
  readonly retry: RetryPolicy;
  readonly requestTimeoutMs: number;
  readonly pageSize: number;
  readonly since: string | undefined;
  /** Null: the polling worker. */
  readonly broker: { readonly url: string; readonly prefetch: number; readonly exitWhenIdleMs: number | undefined } | null;
  /** After SIGTERM, how long the work in hand may finish before its PACS requests are aborted. */
  readonly graceMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function numberOption(name: string, raw: string | undefined, fallback: number, { min = 0, integer = false } = {}): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new ConfigError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function sinceOption(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(raw);
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : null;
  if (!match || !date || date.getUTCDate() !== Number(match[3]) || date.getUTCMonth() !== Number(match[2]) - 1) {
    throw new ConfigError(`--since must be a date YYYYMMDD, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

export function parseCli(argv: readonly string[]): CliOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        pacs: { type: 'string' },
        'pacs-auth-file': { type: 'string' },
        model: { type: 'string' },
        'calibration-dir': { type: 'string' },
        'no-site-calibration': { type: 'boolean' },
        once: { type: 'boolean' },
        interval: { type: 'string' },
        state: { type: 'string' },
        shard: { type: 'string' },
        'max-attempts': { type: 'string' },
        'health-port': { type: 'string' },
        'unhealthy-after': { type: 'string' },
        threads: { type: 'string' },
        'model-file': { type: 'string' },
        retries: { type: 'string' },
        'retry-base-ms': { type: 'string' },
        'retry-max-ms': { type: 'string' },
        'request-timeout': { type: 'string' },
        'page-size': { type: 'string' },
        since: { type: 'string' },
        broker: { type: 'string' },
        'broker-auth-file': { type: 'string' },
        prefetch: { type: 'string' },
        grace: { type: 'string' },
        'exit-when-idle': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (!v.pacs) throw new ConfigError('--pacs is required: the DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web');
  let pacs: PacsEndpoint;
  try {
    pacs = pacsEndpoint(v.pacs, '--pacs', v['pacs-auth-file']);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  let shard = WHOLE;
  if (v.shard !== undefined) {
    try {
      shard = parseShard(v.shard);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  const baseDelayMs = numberOption('retry-base-ms', v['retry-base-ms'], 250);
  const maxDelayMs = numberOption('retry-max-ms', v['retry-max-ms'], 8000);
  const model = resolve(v.model ?? 'models/chestaid-demo/manifest.json');
  if (v['calibration-dir'] === '') throw new ConfigError('--calibration-dir must name a directory, got ""');
  if (v['no-site-calibration'] && v['calibration-dir'] !== undefined) throw new ConfigError('give --calibration-dir or --no-site-calibration, not both');
  let broker: CliOptions['broker'] = null;
  if (v.broker !== undefined) {
    let brokerUrl: URL;
    try {
      brokerUrl = new URL(v.broker);
    } catch {
      throw new ConfigError(`--broker must be an amqp:// URL, got ${JSON.stringify(v.broker)}`);
    }
    if (brokerUrl.protocol !== 'amqp:' && brokerUrl.protocol !== 'amqps:') throw new ConfigError(`--broker must be an amqp:// or amqps:// URL, got ${JSON.stringify(redact(v.broker))}`);
    // These steer the polling loop; a queue worker has none, and silently ignoring them would mislead.
    for (const polling of ['once', 'interval', 'shard', 'page-size', 'since'] as const) {
      if (v[polling] !== undefined) throw new ConfigError(`--${polling} is for the polling worker; with --broker the feeder finds the work`);
    }
    let url: string;
    try {
      url = brokerUrlWithCredentials(v.broker, '--broker', v['broker-auth-file']);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    broker = {
      url,
      prefetch: numberOption('prefetch', v.prefetch, 2, { min: 1, integer: true }),
      exitWhenIdleMs: v['exit-when-idle'] === undefined ? undefined : numberOption('exit-when-idle', v['exit-when-idle'], 0, { min: 0.1 }) * 1000,
    };
  } else {
    for (const queued of ['prefetch', 'exit-when-idle', 'broker-auth-file'] as const) {
      if (v[queued] !== undefined) throw new ConfigError(`--${queued} needs --broker`);
    }
  }
  return {
    pacs: pacs.url,
    pacsCredentials: { credentials: pacs.credentials, authorization: pacs.authorization },
    model,
    calibrationDir: v['no-site-calibration']
      ? null
      : v['calibration-dir'] === undefined
        ? { path: join(dirname(model), 'calibration'), named: false }
        : { path: resolve(v['calibration-dir']), named: true },
    once: v.once ?? false,
    intervalMs: numberOption('interval', v.interval, 30, { min: 0.01 }) * 1000,
    state: v.state ? resolve(v.state) : null,
    shard,
    maxAttempts: numberOption('max-attempts', v['max-attempts'], 3, { min: 1, integer: true }),
    healthPort: v['health-port'] === undefined ? null : numberOption('health-port', v['health-port'], 0, { integer: true }),
    unhealthyAfterMs: numberOption('unhealthy-after', v['unhealthy-after'], 60) * 1000,
    threads: v.threads === undefined ? undefined : numberOption('threads', v.threads, 1, { min: 1, integer: true }),
    modelFile: v['model-file'],
    retry: {
      retries: numberOption('retries', v.retries, 4, { integer: true }),
      baseDelayMs,
      maxDelayMs: Math.max(baseDelayMs, maxDelayMs),
      jitter: 0.5,
    },
    requestTimeoutMs: numberOption('request-timeout', v['request-timeout'], 60, { min: 0.1 }) * 1000,
    pageSize: numberOption('page-size', v['page-size'], 100, { min: 1, integer: true }),
    since: sinceOption(v.since),
    broker,
    graceMs: numberOption('grace', v.grace, 30) * 1000,
  };
}

export interface RunHandles {
  /** Resolves with the exit code. */
  readonly done: Promise<number>;
}

/** Runs the worker as the CLI does; `process`-level wiring (signals, exit) is main()'s. */
export async function runCli(argv: readonly string[], logger: Logger = jsonLogger()): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = parseCli(argv);
  } catch (error) {
    logger.log('error', 'bad-config', { error: (error as Error).message });
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return EXIT.config;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }

  let state: WorkerState;
  try {
    state = options.state ? WorkerState.open(options.state) : WorkerState.memory();
  } catch (error) {
    logger.log('error', 'bad-config', { error: (error as Error).message });
    return error instanceof StateFileError ? EXIT.config : EXIT.internal;
  }

  let model;
  try {
    model = await loadModel(options.model, { threads: options.threads, file: options.modelFile });
  } catch (error) {
    logger.log('error', 'model-unusable', { model: options.model, error: (error as Error).message });
    return error instanceof ModelError ? EXIT.model : EXIT.internal;
  }

  // The viewer's rule: the manifest, then the active overlay of a verified log; never the
  // manifest alone when the log cannot be trusted or is not there, unless the site said so.
  const calibrationDir = options.calibrationDir?.path ?? null;
  let calibration: WatchedCalibration;
  try {
    if (options.calibrationDir?.named && !(await isDirectory(options.calibrationDir.path))) {
      throw new CalibrationError(`--calibration-dir ${options.calibrationDir.path} is not a directory`);
    }
    calibration = await WatchedCalibration.open({
      dir: calibrationDir,
      manifest: model.manifest,
      modelSha256: model.sha256,
      trusted: calibrationDir === null ? undefined : new StateHeadMemory(state, trustedHeadKey(model.sha256, calibrationDir)),
    });
  } catch (error) {
    await model.classifier.release();
    if (!(error instanceof CalibrationError)) throw error;
    logger.log('error', 'calibration-unusable', { dir: calibrationDir, entry: error.entry, kind: error.kind, error: error.message });
    return EXIT.config;
  }

  const shutdown = new AbortController();
  const abandon = new AbortController();
  const pacs = new DicomWebClient({
    baseUrl: options.pacs,
    fetch: pacsFetch(options.requestTimeoutMs, abandon.signal, { authorization: options.pacsCredentials.authorization }),
    retry: options.retry,
    retryHooks: {
      signal: shutdown.signal,
      onRetry: (error, attempt, delayMs) =>
        logger.log('warn', 'retry', { attempt, of: options.retry.retries, delayMs: ms(delayMs), error: (error as Error).message }),
    },
  });
  if (options.broker) {
    return runQueueWorker(options, options.broker, { pacs, model, calibration, calibrationDir, logger, shutdown, abandon });
  }

  const worker = new TriageWorker({
    pacs,
    model: { manifest: calibration.state.manifest, sha256: model.sha256, classifier: model.classifier },
    calibration,
    logger,
    state,
    shard: options.shard,
    maxAttempts: options.maxAttempts,
    pageSize: options.pageSize,
    since: options.since,
  });

  const health = await startHealth(options, worker.scoring, () => ({
    lastPollAt: worker.lastPollAt?.toISOString() ?? null,
    shard: `${options.shard.index}/${options.shard.count}`,
  }));
  // A request in flight when the grace is over is aborted: the pass ends as if the PACS had gone.
  const removeStopSignals = installStopSignals({ logger, worker, shutdown, inHand: 'the current image', graceMs: options.graceMs, abandonAfterGrace: abandon });

  const address = health?.address();
  logger.log('info', 'started', {
    pacs: options.pacs,
    pacsCredentials: options.pacsCredentials.credentials,
    model: { id: model.manifest.model.id, version: model.manifest.model.version, sha256: model.sha256, calibrationVersion: calibration.state.version },
    calibration: {
      version: calibration.state.version,
      source: calibration.state.source,
      method: calibration.state.manifest.calibration.selected,
      threshold: calibration.state.manifest.thresholds.clinical.value,
      dir: calibrationDir,
      logEntries: calibration.state.head.seq,
      ...(calibrationDir === null
        ? { note: '--no-site-calibration: the manifest calibration, no log read' }
        : calibration.state.head.seq === 0
          ? { note: 'no calibration log entries yet: the manifest calibration; the log is watched' }
          : {}),
    },
    loadMs: { read: ms(model.loadMs.read), verify: ms(model.loadMs.verify), session: ms(model.loadMs.session) },
    once: options.once,
    intervalS: options.intervalMs / 1000,
    shard: `${options.shard.index}/${options.shard.count}`,
    state: options.state,
    healthPort: address && typeof address === 'object' ? address.port : null,
  });

  try {
    let last;
    try {
      last = await worker.run({ once: options.once, intervalMs: options.intervalMs });
    } catch (error) {
      if (!(error instanceof CalibrationError)) throw error;
      // The log changed and no longer verifies: scoring on under the old version would write
      // results the viewer cannot trust either; stop, loudly.
      logger.log('error', 'calibration-unusable', { dir: calibrationDir, entry: error.entry, kind: error.kind, error: error.message, counts: worker.scoring.counts });
      return EXIT.config;
    }
    let code: number = EXIT.ok;
    if (options.once && !last.stopped) {
      if (!last.completed) code = EXIT.pacsUnreachable;
      else if (last.failed > 0) code = EXIT.itemsFailed;
    }
    logger.log('info', 'stopped', { exitCode: code, counts: worker.scoring.counts });
    return code;
  } finally {
    removeStopSignals();
    await new Promise<void>(done => (health ? health.close(() => done()) : done()));
    await model.classifier.release();
  }
}

interface QueueDeps {
  readonly pacs: DicomWebClient;
  readonly model: Awaited<ReturnType<typeof loadModel>>;
  readonly calibration: WatchedCalibration;
  readonly calibrationDir: string | null;
  readonly logger: Logger;
  readonly shutdown: AbortController;
  readonly abandon: AbortController;
}

/** --broker: the queue worker, until a signal, --exit-when-idle, or a calibration log that stops verifying. */
async function runQueueWorker(options: CliOptions, broker: NonNullable<CliOptions['broker']>, deps: QueueDeps): Promise<number> {
  const { pacs, model, calibration, calibrationDir, logger, shutdown, abandon } = deps;
  const worker = new QueueWorker({
    pacs,
    model: { manifest: calibration.state.manifest, sha256: model.sha256, classifier: model.classifier },
    calibration,
    logger,
    brokerUrl: broker.url,
    prefetch: broker.prefetch,
    maxAttempts: options.maxAttempts,
    graceMs: options.graceMs,
    exitWhenIdleMs: broker.exitWhenIdleMs,
    abortRequests: () => abandon.abort(),
  });
  const health = await startHealth(options, worker.scoring, () => ({ broker: redact(broker.url) }));
  const removeStopSignals = installStopSignals({ logger, worker, shutdown, inHand: 'the jobs in hand', graceMs: options.graceMs });
  const address = health?.address();
  logger.log('info', 'started', {
    pacs: options.pacs,
    pacsCredentials: options.pacsCredentials.credentials,
    broker: redact(broker.url),
    prefetch: broker.prefetch,
    maxAttempts: options.maxAttempts,
    model: { id: model.manifest.model.id, version: model.manifest.model.version, sha256: model.sha256, calibrationVersion: calibration.state.version },
    calibration: { version: calibration.state.version, source: calibration.state.source, dir: calibrationDir },
    healthPort: address && typeof address === 'object' ? address.port : null,
  });
  try {
    try {
      await worker.run();
    } catch (error) {
      if (error instanceof TopologyError) {
        logger.log('error', 'bad-config', { error: error.message });
        return EXIT.config;
      }
      throw error;
    }
    if (worker.fatal instanceof CalibrationError) {
      const error = worker.fatal;
      logger.log('error', 'calibration-unusable', { dir: calibrationDir, entry: error.entry, kind: error.kind, error: error.message, counts: worker.scoring.counts });
      return EXIT.config;
    }
    logger.log('info', 'stopped', { exitCode: EXIT.ok, counts: worker.scoring.counts });
    return EXIT.ok;
  } finally {
    removeStopSignals();
    await new Promise<void>(done => (health ? health.close(() => done()) : done()));
    await model.classifier.release();
  }
}

/** The health endpoint (--health-port): 200 while the PACS has answered within --unhealthy-after, else 503; `extra` adds the mode's own fields. */
async function startHealth(options: CliOptions, scoring: ScoringContext, extra: () => Record<string, unknown>) {
  if (options.healthPort === null) return null;
  return startHealthServer(options.healthPort, '127.0.0.1', () => {
    const { manifest, sha256 } = scoring.model;
    const downMs = scoring.pacsDownSince ? Date.now() - scoring.pacsDownSince.getTime() : 0;
    const healthy = downMs <= options.unhealthyAfterMs;
    return {
      healthy,
      body: {
        status: healthy ? 'ok' : 'pacs-unreachable',
        ...extra(),
        lastPollOkAt: scoring.lastPollOkAt?.toISOString() ?? null,
        pacsUnreachableForS: scoring.pacsDownSince ? Math.round(downMs / 100) / 10 : 0,
        counts: scoring.counts,
        model: { id: manifest.model.id, sha256, calibrationVersion: scoring.calibrationVersion },
      },
    };
  });
}

interface StopSignalOptions {
  readonly logger: Logger;
  readonly worker: { requestStop(): void; readonly scoring: ScoringContext };
  readonly shutdown: AbortController;
  /** What the first signal lets finish and a second abandons, for the log. */
  readonly inHand: string;
  readonly graceMs: number;
  /** Aborted when the grace is over (polling mode); the broker mode's worker keeps its own grace. */
  readonly abandonAfterGrace?: AbortController;
}

/**
 * SIGTERM/SIGINT in both modes: the first stops taking work and lets the work in hand finish; a
 * second exits at once, abandoning it, which is safe: every write is idempotent (results.ts) and
 * the broker gives unacked jobs to another worker. Returns the function that removes the handlers.
 */
function installStopSignals({ logger, worker, shutdown, inHand, graceMs, abandonAfterGrace }: StopSignalOptions): () => void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    logger.log('info', 'stopping', { signal, then: signals === 1 ? `finishing ${inHand} (grace ${graceMs / 1000} s)` : `abandoning ${inHand}` });
    worker.requestStop();
    shutdown.abort();
    if (signals === 1 && abandonAfterGrace) {
      setTimeout(() => {
        logger.log('warn', 'grace-over', { graceMs, then: 'aborting the PACS requests in flight' });
        abandonAfterGrace.abort();
      }, graceMs).unref();
    }
    if (signals > 1) {
      logger.log('info', 'stopped', { abandoned: true, counts: worker.scoring.counts });
      process.exit(EXIT.ok);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const logger = jsonLogger();
  try {
    process.exitCode = await runCli(argv, logger);
  } catch (error) {
    logger.log('error', 'internal-error', { error: (error as Error).stack ?? String(error) });
    process.exitCode = EXIT.internal;
  }
}
