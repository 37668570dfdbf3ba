/**
 * The triage worker on a broker (issue 17): any number of these, in separate processes on
 * separate machines, consume one RabbitMQ queue (topology.ts) instead of each listing the PACS.
 *
 * A study with exactly one CR/DX image left to score (the common case: one radiograph) has it
 * scored inside the study job, on that job's first delivery: one job, one listing of the study,
 * one look at its results. The broker counts that try on the study job; a redelivered study job
 * (the worker died on the image, or the try asked to be retried) publishes an image job instead,
 * carrying the try (jobs.ts `earlier`), so an image that kills its worker is still tried
 * --max-attempts times in all, then dead-lettered on its own image job.
 *
 * A job is settled only after its outcome is in the PACS: ack after the SR is stored (or the image
 * was found done, or refused by the model card); requeue (the broker counts the attempt) after a
 * failure a retry may fix; dead-letter at once when it cannot (a bad image), or after the last
 * attempt. A worker that dies holding a job (kill -9, the OOM killer, a lost connection) never
 * acks it: the broker hands it to another worker, counting the attempt, and the derived result
 * UIDs make the second write a no-op if the first reached the PACS (exactly once in the PACS,
 * whatever the broker redelivers).
 *
 * A retried image (its delivery is not its first try) is scored alone, so that a worker killed on
 * it again charges no other job: a worker holding more than one job (--prefetch) stops taking
 * jobs, lets the others finish, scores it, then takes jobs again; a second retried image that comes
 * meanwhile is put back at the end of the queue carrying its tries (`earlier`), not a try.
 *
 * The PACS not answering is nobody's attempt: the worker keeps the job and tries it again, with
 * backoff, until the PACS answers or the worker is told to stop. A lost broker connection is
 * reconnected with backoff; jobs in hand finish (their acks are lost, so they come back, and are
 * found done). Stopping: no new jobs, the ones in hand get the grace period, then their requests
 * are aborted and they go back to the queue.
 */
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { connect } from 'amqplib';

import { type DicomJson, freeRevision, messageOf, RESULT_REVISIONS } from '@chestaid/core';
import { CalibrationError } from '../calibration';
import { TAG, value, values } from '../dicomJson';
import { type ExistingResults, existingResults } from '../existingResults';
import { errorKind } from '../failures';
import type { ImageLimits } from '../imageLimits';
import { ms, type Logger } from '../log';
import { PassAborted, type PacsLike, unreachable } from '../pacsLink';
import { keyText } from '../results';
import type { ModelInUse } from '../scoreImage';
import { type CalibrationWatch, ScoringContext } from '../scoringContext';
import { WorkerState } from '../state';
import { SERIES_FIELDS } from '../studies';
import type { PassTally } from '../tally';
import { BadJob, decodeJob, encodeJob, type Job } from './jobs';
import { declareTopology, JOBS_QUEUE, TopologyError } from './topology';

export interface QueueWorkerOptions {
  readonly pacs: PacsLike;
  readonly model: ModelInUse;
  readonly calibration?: CalibrationWatch;
  readonly logger: Logger;
  /** amqp://user:password@host:port/vhost */
  readonly brokerUrl: string;
  /** Jobs in hand at once (AMQP prefetch). */
  readonly prefetch?: number;
  /** Deliveries per job before it is dead-lettered (the queue's x-delivery-limit + 1). */
  readonly maxAttempts?: number;
  readonly limits?: ImageLimits;
  /** How long jobs in hand may finish after a stop is requested. */
  readonly graceMs?: number;
  /** Stop once no job arrived for this long (a drain: tests, the benchmark); never when undefined. */
  readonly exitWhenIdleMs?: number;
  /** Aborted when the grace period is over: the PACS requests in flight stop. */
  readonly abortRequests?: () => void;
  /** Backoff between reconnects and between tries of a job while the PACS does not answer. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  readonly now?: () => Date;
}

type Outcome = 'ack' | 'requeue' | 'dead';

const sleep = (milliseconds: number) => new Promise<void>(resolve => setTimeout(resolve, milliseconds));

export class QueueWorker {
  /** The PACS link, the scorer, the counts and the model under its active calibration (shared with the polling mode). */
  readonly scoring: ScoringContext;
  /** Set when the worker stopped because it must not go on (a calibration log that no longer verifies). */
  fatal: unknown = null;

  private readonly state = WorkerState.memory();
  private readonly accepted: readonly string[];
  private readonly prefetch: number;
  private readonly maxAttempts: number;
  private readonly graceMs: number;
  private readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  private readonly inFlight = new Set<Promise<void>>();
  private stopRequested = false;
  /** The channel jobs come from; `taking`: its consumer is on (off while a retried image is scored alone). */
  private consumer: { readonly channel: ConfirmChannel; taking: boolean; tag?: string } | null = null;
  /** A retried image is in hand: it is scored alone. */
  private retriedInHand = false;
  private wakeStop: (() => void) | null = null;
  private readonly stopped: Promise<void>;
  private lastJobAt = Date.now();

  constructor(private readonly options: QueueWorkerOptions) {
    this.prefetch = options.prefetch ?? 2;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.graceMs = options.graceMs ?? 30_000;
    this.backoff = options.backoff ?? { baseMs: 500, maxMs: 15_000 };
    if (!(Number.isInteger(this.prefetch) && this.prefetch >= 1)) throw new Error(`prefetch must be an integer >= 1, got ${this.prefetch}`);
    const now = options.now ?? (() => new Date());
    this.scoring = new ScoringContext({
      pacs: options.pacs, model: options.model, logger: options.logger, state: this.state, maxAttempts: this.maxAttempts, limits: options.limits, now,
    });
    this.accepted = options.model.manifest.input.grey.accepted_modalities;
    this.stopped = new Promise(resolve => (this.wakeStop = resolve));
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  requestStop(): void {
    this.stopRequested = true;
    this.wakeStop?.();
  }

  /** Consumes until stopped; reconnects when the broker goes away. Throws TopologyError (a configuration the broker refuses). */
  async run(): Promise<void> {
    const { logger, brokerUrl } = this.options;
    let failures = 0;
    while (!this.stopRequested) {
      let connection: ChannelModel;
      try {
        connection = await connect(brokerUrl);
      } catch (error) {
        failures++;
        const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(failures - 1, 10));
        logger.log('error', 'broker-unreachable', { broker: redact(brokerUrl), error: messageOf(error), retryInMs: delay });
        await Promise.race([sleep(delay), this.stopped]);
        continue;
      }
      failures = 0;
      const lost = new Promise<unknown>(resolve => connection.once('close', resolve));
      connection.on('error', error => logger.log('warn', 'broker-error', { error: messageOf(error) }));
      let channel: ConfirmChannel;
      try {
        channel = await connection.createConfirmChannel();
        channel.on('error', error => logger.log('warn', 'broker-channel-error', { error: messageOf(error) }));
        await declareTopology(channel, { maxAttempts: this.maxAttempts });
        await channel.prefetch(this.prefetch);
        this.retriedInHand = false;
        this.consumer = { channel, taking: false };
        await this.takeJobs(channel);
      } catch (error) {
        await connection.close().catch(() => undefined);
        if (error instanceof TopologyError) throw error;
        logger.log('error', 'broker-unreachable', { broker: redact(brokerUrl), error: messageOf(error) });
        await Promise.race([sleep(this.backoff.baseMs), this.stopped]);
        continue;
      }
      logger.log('info', 'consuming', { queue: JOBS_QUEUE, prefetch: this.prefetch, maxAttempts: this.maxAttempts });
      this.lastJobAt = Date.now();
      const idle = this.options.exitWhenIdleMs === undefined ? null : this.idleWatch(this.options.exitWhenIdleMs);
      const why = await Promise.race([lost.then(() => 'lost' as const), this.stopped.then(() => 'stop' as const)]);
      idle?.cancel();
      const consumer = this.consumer;
      this.consumer = null;
      if (why === 'lost') {
        logger.log('error', 'broker-lost', { inHand: this.inFlight.size, then: 'reconnecting; jobs in hand finish, their acks are lost and they come back' });
        await this.drain(this.graceMs);
        continue;
      }
      if (consumer?.taking && consumer.tag) await channel.cancel(consumer.tag).catch(() => undefined);
      const finished = await this.drain(this.graceMs);
      if (!finished) {
        logger.log('warn', 'grace-over', { inHand: this.inFlight.size, graceMs: this.graceMs, then: 'aborting their requests; the broker gives them to another worker' });
        this.options.abortRequests?.();
        await this.drain(2000);
      }
      await connection.close().catch(() => undefined);
    }
  }

  /** Starts (or resumes) taking jobs on this channel, unless it is no longer the worker's. */
  private async takeJobs(channel: ConfirmChannel): Promise<void> {
    const consumer = this.consumer;
    if (consumer?.channel !== channel || consumer.taking || this.stopRequested) return;
    consumer.taking = true;
    const { consumerTag } = await channel.consume(JOBS_QUEUE, message => message && this.track(this.handle(channel, message)), { noAck: false });
    consumer.tag = consumerTag;
  }

  /**
   * Stops taking jobs on this channel; the jobs in hand stay in hand. `tag` is the consumer's (from
   * a delivery: a delivery can come before consume() has answered).
   */
  private async pauseJobs(channel: ConfirmChannel, tag: string): Promise<void> {
    const consumer = this.consumer;
    if (consumer?.channel !== channel || !consumer.taking) return;
    consumer.taking = false;
    await channel.cancel(tag);
  }

  /**
   * A retried image, on a worker that holds more than one job at a time: 'alone' once it is the
   * worker's only job (no new ones come meanwhile); 'put-back' (settled) when another retried image
   * is in hand, or the worker is told to stop before its turn.
   */
  private async alone(channel: ConfirmChannel, message: ConsumeMessage, job: Extract<Job, { type: 'image' }>, attempt: number): Promise<'alone' | 'put-back'> {
    if (this.retriedInHand) {
      await this.putBack(channel, message, job, attempt, 'a retried image is scored alone, and another is in hand');
      return 'put-back';
    }
    this.retriedInHand = true;
    // A channel that went with the broker takes no jobs anyway.
    await this.pauseJobs(channel, message.fields.consumerTag).catch(() => undefined);
    // Deliveries already on their way still come (and are handled); then nothing until this one settles.
    while (this.inFlight.size > 1 && !this.stopRequested) await Promise.race([...this.inFlight, this.stopped]);
    if (this.stopRequested) {
      this.retriedInHand = false;
      await this.putBack(channel, message, job, attempt, 'the worker is stopping before its turn');
      return 'put-back';
    }
    this.options.logger.log('info', 'alone', { study: job.study, sop: job.sop, attempt, reason: 'a retried image, scored as the only job in hand: dying on it again charges no other' });
    return 'alone';
  }

  /** Back at the end of the queue carrying its tries, not a try: published with confirms before the ack, so it is never lost. */
  private async putBack(channel: ConfirmChannel, message: ConsumeMessage, job: Extract<Job, { type: 'image' }>, attempt: number, reason: string): Promise<void> {
    const { content, options } = encodeJob({ ...job, earlier: attempt - 1 });
    channel.publish('', JOBS_QUEUE, content, options);
    await channel.waitForConfirms();
    this.settle(channel, message, 'ack');
    this.options.logger.log('info', 'put-back', { study: job.study, sop: job.sop, attempt, reason: `${reason}; back at the end of the queue, not a try` });
  }

  private track(job: Promise<void>): void {
    // handle() settles every job it can; a bug escaping it is logged, and its job comes back when the channel closes.
    const tracked = job.catch(error => this.options.logger.log('error', 'internal-error', { error: (error as Error).stack ?? String(error) }));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  /** Waits for the jobs in hand, at most `withinMs`; says whether they all finished. */
  private async drain(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (this.inFlight.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await Promise.race([Promise.allSettled([...this.inFlight]), sleep(left)]);
    }
    return true;
  }

  private idleWatch(idleMs: number): { cancel(): void } {
    const timer = setInterval(() => {
      if (this.inFlight.size === 0 && Date.now() - this.lastJobAt >= idleMs) {
        this.options.logger.log('info', 'idle', { forMs: idleMs, then: 'stopping (--exit-when-idle)' });
        this.requestStop();
      }
    }, Math.min(idleMs, 250));
    return { cancel: () => clearInterval(timer) };
  }

  private async handle(channel: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    const { logger } = this.options;
    this.lastJobAt = Date.now();
    const delivery = Number(message.properties.headers?.['x-delivery-count'] ?? 0) + 1;
    let job: Job;
    try {
      job = decodeJob(message.content);
    } catch (error) {
      if (!(error instanceof BadJob)) throw error;
      logger.log('error', 'bad-job', { messageId: message.properties.messageId, error: error.message, then: 'dead-lettered' });
      this.settle(channel, message, 'dead');
      return;
    }
    // An image job counts the tries made before it was published (inside its study job, or before it was put back).
    const attempt = delivery + (job.type === 'image' ? (job.earlier ?? 0) : 0);
    logger.log('info', 'job', {
      job: job.type,
      study: job.study,
      ...(job.type === 'image' ? { sop: job.sop, ...(job.earlier ? { earlier: job.earlier } : {}) } : {}),
      attempt,
      maxAttempts: this.maxAttempts,
    });
    if (attempt > this.maxAttempts) {
      // Only an image job with an earlier try gets here: its last delivery from the broker is one
      // try too many, so it is dead-lettered untouched, as the broker would have.
      this.scoring.counts.deadLettered++;
      logger.log('error', 'attempts-spent', { job: job.type, study: job.study, ...(job.type === 'image' ? { sop: job.sop } : {}), attempt, maxAttempts: this.maxAttempts, then: 'dead-lettered, not tried' });
      this.settle(channel, message, 'dead');
      return;
    }
    const retried = job.type === 'image' && attempt > 1 && this.prefetch > 1 ? job : null;
    if (retried) {
      try {
        if ((await this.alone(channel, message, retried, attempt)) === 'put-back') return;
      } catch (error) {
        // Putting it back failed with the channel: the job comes back to some worker, counted.
        logger.log('warn', 'settle-lost', { messageId: message.properties.messageId, outcome: 'put-back', error: messageOf(error) });
        return;
      }
    }
    let outcome: Outcome;
    for (let tries = 1; ; tries++) {
      if (this.stopRequested && tries > 1) {
        outcome = 'requeue';
        break;
      }
      try {
        await this.scoring.refreshCalibration(this.options.calibration, 'the jobs from now on are scored under it; a result under another version is new work');
        outcome = job.type === 'study' ? await this.expand(channel, job, attempt) : await this.score(job, attempt);
        break;
      } catch (error) {
        if (error instanceof PassAborted || unreachable(error)) {
          this.scoring.link.failed(error instanceof PassAborted ? error.reason : error, job.type === 'study' ? 'expanding a study' : 'scoring an image');
          if (this.stopRequested) {
            outcome = 'requeue';
            break;
          }
          // Nobody's attempt: keep the job and try again once the PACS may be back.
          await Promise.race([sleep(Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(tries - 1, 10))), this.stopped]);
          continue;
        }
        if (isFatal(error)) {
          this.fatal = error;
          this.requestStop();
          outcome = 'requeue';
          break;
        }
        this.scoring.counts.failed++;
        logger.log('error', 'failed', {
          job: job.type,
          study: job.study,
          ...(job.type === 'image' ? { sop: job.sop } : {}),
          stage: job.type,
          kind: errorKind(error),
          error: messageOf(error),
          attempt,
          maxAttempts: this.maxAttempts,
          willRetry: attempt < this.maxAttempts,
        });
        outcome = attempt < this.maxAttempts ? 'requeue' : 'dead';
        if (outcome === 'requeue') await Promise.race([sleep(this.backoff.baseMs), this.stopped]);
        break;
      }
    }
    this.settle(channel, message, outcome);
    if (retried) {
      // Scored alone: the worker takes jobs again.
      this.retriedInHand = false;
      await this.takeJobs(channel).catch(error => logger.log('warn', 'broker-channel-error', { error: messageOf(error) }));
    }
  }

  private settle(channel: ConfirmChannel, message: ConsumeMessage, outcome: Outcome): void {
    try {
      if (outcome === 'ack') channel.ack(message);
      else channel.nack(message, false, outcome === 'requeue');
    } catch (error) {
      // The channel went with the broker: the job comes back to some worker, which finds its result.
      this.options.logger.log('warn', 'settle-lost', { messageId: message.properties.messageId, outcome, error: messageOf(error) });
    }
  }

  /**
   * A study job: one image job per CR/DX image without a verified result, published with confirms
   * before the study job is acked; or, on its first delivery with exactly one such image, that
   * image scored here (the study job's outcome is then the image's).
   */
  private async expand(channel: ConfirmChannel, job: Extract<Job, { type: 'study' }>, attempt: number): Promise<Outcome> {
    const { logger } = this.options;
    const started = performance.now();
    this.scoring.counts.studies++;
    const series = await this.scoring.link.ask(pacs => pacs.searchSeries(job.study, { includefield: SERIES_FIELDS }));
    const modalities = [...new Set(series.flatMap(s => values(s, TAG.Modality)))].sort();
    if (!modalities.some(m => this.accepted.includes(m))) {
      this.scoring.counts.skipped++;
      logger.log('info', 'skipped', { study: job.study, reason: `not a chest radiograph study: modalities ${modalities.join('/') || 'none'}, the model reads ${this.accepted.join('/')}` });
      return 'ack';
    }
    const found = await existingResults(this.scoring.link, logger, job.study, series, this.scoring.verifyContext());
    const todo: { readonly series: string; readonly sop: string }[] = [];
    let already = 0;
    for (const s of series) {
      const modality = value(s, TAG.Modality);
      const seriesUID = value(s, TAG.SeriesInstanceUID);
      if (!seriesUID || !modality || !this.accepted.includes(modality)) continue;
      const instances = await this.scoring.link.ask(pacs => pacs.searchInstances(job.study, seriesUID));
      for (const instance of instances) {
        const sop = value(instance, TAG.SOPInstanceUID);
        if (!sop) continue;
        if (found.done.has(keyText(this.scoring.keyOf(sop)))) already++;
        else todo.push({ series: seriesUID, sop });
      }
    }
    if (todo.length === 1 && attempt === 1) {
      const image = { type: 'image', study: job.study, series: todo[0].series, sop: todo[0].sop } as const;
      logger.log('info', 'expanded', { study: job.study, images: 0, inline: image.sop, alreadyDone: already, ms: ms(performance.now() - started) });
      return this.score(image, attempt, { series, found });
    }
    // A redelivered study job with one image left may have tried it inline: that try is the image's.
    const earlier = todo.length === 1 ? 1 : 0;
    for (const { series: seriesUID, sop } of todo) {
      const { content, options } = encodeJob({ type: 'image', study: job.study, series: seriesUID, sop, ...(earlier ? { earlier } : {}) });
      channel.publish('', JOBS_QUEUE, content, options);
    }
    if (todo.length > 0) await channel.waitForConfirms();
    logger.log('info', 'expanded', { study: job.study, images: todo.length, alreadyDone: already, ms: ms(performance.now() - started) });
    return 'ack';
  }

  /**
   * An image (its own job, or inline in its study job with the study's listing already read):
   * skipped when its result is in the PACS, else scored and stored under the first free UIDs.
   */
  private async score(job: Extract<Job, { type: 'image' }>, attempt: number, listed?: { readonly series: readonly DicomJson[]; readonly found: ExistingResults }): Promise<Outcome> {
    const { logger } = this.options;
    const series = listed?.series ?? (await this.scoring.link.ask(pacs => pacs.searchSeries(job.study, { includefield: SERIES_FIELDS })));
    const { done, occupied } = listed?.found ?? (await existingResults(this.scoring.link, logger, job.study, series, this.scoring.verifyContext()));
    const key = this.scoring.keyOf(job.sop);
    const text = keyText(key);
    if (done.has(text)) {
      this.scoring.counts.skipped++;
      logger.log('info', 'skipped', { study: job.study, sop: job.sop, attempt, reason: 'a ChestAid result for this image, model and calibration is already in the PACS' });
      return 'ack';
    }
    const revision = await freeRevision(job.study, key, occupied);
    if (revision === null) {
      this.scoring.counts.failed++;
      logger.log('error', 'no-free-uid', {
        study: job.study,
        sop: job.sop,
        reason: `all ${RESULT_REVISIONS} UIDs this result can be written under are held by SRs that fail verification; the PACS needs a person's attention`,
      });
      return 'dead';
    }
    // The ledger counts from the broker's count: this delivery is attempt `attempt`.
    this.state.data.failures = {};
    this.state.data.refused = {};
    this.state.data.deadLetter = {};
    if (attempt > 1) {
      this.state.data.failures[text] = { studyInstanceUID: job.study, seriesInstanceUID: job.series, sopInstanceUID: job.sop, attempts: attempt - 1, lastError: '(an earlier delivery)', at: '' };
    }
    const tally: PassTally = { studies: 0, scored: 0, skipped: 0, failed: 0, refused: 0, timings: [] };
    const outcome = await this.scoring.scorer.score({ studyUID: job.study, seriesUID: job.series, sopUID: job.sop }, text, this.scoring.model, tally, revision);
    if (outcome === 'stored' || outcome === 'refused') return 'ack';
    return outcome === 'retry' ? 'requeue' : 'dead';
  }
}

/** A calibration log that no longer verifies stops the worker (as in polling mode), whatever job it was on. */
function isFatal(error: unknown): boolean {
  return error instanceof CalibrationError;
}

/** The broker URL for the log, its password hidden. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

