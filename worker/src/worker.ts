/**
 * The triage worker's loop: poll the PACS, score each CR/DX image that has no ChestAid result
 * for this model and calibration yet, and store the result SR (and the heatmap) back in the PACS.
 *
 * Finding new work (the "cursor"). QIDO-RS cannot ask for studies by arrival time (StudyDate is
 * the acquisition date; a study from last year can arrive today), so the worker does not trust a
 * date cursor. Each poll lists the studies (paged with limit/offset) with their instance count and
 * modalities; a study whose fingerprint (count + modalities) is unchanged since the worker found it
 * complete is skipped without another request. Anything that changes a study (a new image, a
 * result written by a reader's panel) changes its count and gets it re-examined. The memo is a
 * cache: without it (a fresh state file) the worker re-examines everything and writes nothing new.
 *
 * Exactly once. Before scoring an image the worker reads the study's ChestAid result SRs from the
 * PACS (QIDO-RS for SR series, WADO-RS metadata) and skips any image that already has one for the
 * same source SOP Instance UID, model sha256 and calibration version, whoever wrote it. The window
 * between a STOW the PACS accepted and the worker knowing it (a crash, a lost response) is closed
 * by the UIDs: they derive from that same key (results.ts), so a repeated write names the same
 * instances and the PACS keeps one copy. The heatmap is stored before the SR, so an SR in the PACS
 * means both are there.
 *
 * Failures. The PACS not answering at all ends the pass (nothing is charged to the images; the
 * next poll starts again). Anything else is charged to the image: an image the core refuses
 * (wrong modality, RGB, corrupt...) is dead-lettered at once, since retrying cannot help; other
 * failures (a STOW refusal, a 5xx that outlived the client's retries, a runtime error) are retried
 * on later polls up to maxAttempts, then dead-lettered. Either way the worker moves on.
 *
 * Calibration. The worker scores under the site's active calibration (calibration.ts), checked
 * before each poll. A new version changes the result key, so every study is examined again and
 * each image without a result under the new version is scored again (a new SR and heatmap; the old
 * ones stay in the PACS, shown as stale by the viewer): after a recalibration the worklist must be
 * ranked by scores under the version the readers see, and re-scoring costs ~100 ms an image. A
 * rollback to a version the images were already scored under finds those results and writes
 * nothing. The check runs between passes only: one pass is under one version.
 */
import {
  analyze,
  type Classifier,
  type ClassifierOutput,
  type DicomJson,
  DicomReadError,
  InputError,
  inputSpecOf,
  type Manifest,
  messageOf,
  PacsHttpError,
  PacsUnreachable,
  Preprocessor,
  type QidoQuery,
  readResultSr,
  RESULT_SR_SERIES_DESCRIPTION,
  StowError,
  type StowResult,
  type TensorDims,
} from '@chestaid/core';
import { TAG, value, values } from './dicomJson';
import { ms, type Logger } from './log';
import { readPart10 } from './part10';
import { buildOutputs, keyText, type ResultKey } from './results';
import { owns, WHOLE, type Shard } from './shard';
import { WorkerState } from './state';

/** The DICOMweb calls the worker makes; DicomWebClient has them all. */
export interface PacsLike {
  searchStudies(query?: QidoQuery): Promise<DicomJson[]>;
  searchSeries(studyUID?: string, query?: QidoQuery): Promise<DicomJson[]>;
  searchInstances(studyUID?: string, seriesUID?: string, query?: QidoQuery): Promise<DicomJson[]>;
  retrieveInstance(studyUID: string, seriesUID: string, sopUID: string): Promise<ArrayBuffer>;
  retrieveSeriesMetadata(studyUID: string, seriesUID: string): Promise<DicomJson[]>;
  store(instances: readonly ArrayBuffer[], studyUID?: string): Promise<StowResult>;
}

export interface ModelInUse {
  readonly manifest: Manifest;
  readonly sha256: string;
  readonly classifier: Classifier;
}

/** Where a new active calibration comes from (calibration.ts's WatchedCalibration). */
export interface CalibrationWatch {
  /** Null while unchanged; else the manifest with the now active calibration. Throws when the log cannot be used. */
  check(): Promise<{ readonly manifest: Manifest } | null>;
}

export interface WorkerOptions {
  readonly pacs: PacsLike;
  /** The manifest here is the one with the active calibration applied. */
  readonly model: ModelInUse;
  /** Checked before each poll; without it the model's manifest is used throughout. */
  readonly calibration?: CalibrationWatch;
  readonly logger: Logger;
  readonly state?: WorkerState;
  readonly shard?: Shard;
  /** Attempts per image before it is dead-lettered. */
  readonly maxAttempts?: number;
  /** QIDO-RS page size for the study list. */
  readonly pageSize?: number;
  /**
   * Only studies with StudyDate on or after this day (YYYYMMDD), to bound each poll's listing on a
   * large archive. A bound, not a cursor: a late-arriving study older than it is never seen.
   */
  readonly since?: string;
  readonly now?: () => Date;
}

export interface Counts {
  polls: number;
  studies: number;
  scored: number;
  stored: number;
  skipped: number;
  failed: number;
  deadLettered: number;
}

/** Per-image time, split by stage, for the log and the benchmark. */
export interface ImageTimings {
  readonly fetch: number;
  readonly decode: number;
  readonly preprocess: number;
  readonly infer: number;
  readonly write: number;
  readonly total: number;
}

export interface PassResult {
  /** False when the PACS stopped answering and the pass was cut short. */
  readonly completed: boolean;
  readonly stopped: boolean;
  readonly studies: number;
  readonly scored: number;
  readonly skipped: number;
  /** Images that failed in this pass (pending a retry or dead-lettered). */
  readonly failed: number;
  readonly timings: readonly ImageTimings[];
  readonly ms: number;
}

/** The PACS did not answer at all: the pass ends, no image is charged. */
function unreachable(error: unknown): boolean {
  return error instanceof PacsUnreachable;
}

/** Failures no retry can fix: the image itself is unusable. */
function permanent(error: unknown): boolean {
  return error instanceof InputError || error instanceof DicomReadError;
}


function errorKind(error: unknown): string {
  if (error instanceof StowError) return 'stow-refused';
  if (error instanceof PacsHttpError) return `pacs-http-${error.status}`;
  if (error instanceof PacsUnreachable) return 'pacs-unreachable';
  if (permanent(error)) return 'bad-image';
  return error instanceof Error ? error.name : 'error';
}

/** Times the classifier's run, so the log can split preprocessing from inference. */
class TimedClassifier implements Classifier {
  lastMs = 0;
  constructor(private readonly inner: Classifier) {}
  async run(input: Float32Array, dims: TensorDims): Promise<ClassifierOutput> {
    const start = performance.now();
    try {
      return await this.inner.run(input, dims);
    } finally {
      this.lastMs = performance.now() - start;
    }
  }
}

/** Carries a PacsUnreachable out of a study to the pass, which ends. */
class PassAborted extends Error {
  constructor(readonly reason: unknown) {
    super(messageOf(reason));
  }
}

const STUDY_FIELDS = [TAG.ModalitiesInStudy, TAG.NumberOfStudyRelatedInstances, TAG.StudyDate];
const SERIES_FIELDS = [TAG.Modality, TAG.SeriesDescription, TAG.NumberOfSeriesRelatedInstances];

export class TriageWorker {
  readonly counts: Counts = { polls: 0, studies: 0, scored: 0, stored: 0, skipped: 0, failed: 0, deadLettered: 0 };
  lastPollAt: Date | null = null;
  lastPollOkAt: Date | null = null;
  /** When the PACS stopped answering; null while it answers. */
  pacsDownSince: Date | null = null;

  private readonly pacs: PacsLike;
  private model: ModelInUse;
  private readonly calibration: CalibrationWatch | null;
  private readonly logger: Logger;
  private readonly state: WorkerState;
  private readonly shard: Shard;
  private readonly maxAttempts: number;
  private readonly pageSize: number;
  private readonly since: string | undefined;
  private readonly now: () => Date;
  private readonly classifier: TimedClassifier;
  private readonly preprocessor: Preprocessor;
  private readonly accepted: readonly string[];
  private modelKey: string;
  private stopRequested = false;
  private wake: (() => void) | null = null;

  constructor(options: WorkerOptions) {
    this.pacs = options.pacs;
    this.model = options.model;
    this.calibration = options.calibration ?? null;
    this.logger = options.logger;
    this.state = options.state ?? WorkerState.memory();
    this.shard = options.shard ?? WHOLE;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.pageSize = options.pageSize ?? 100;
    this.since = options.since;
    if (this.since !== undefined && !/^\d{8}$/.test(this.since)) throw new Error(`since must be a date YYYYMMDD, got ${JSON.stringify(this.since)}`);
    this.now = options.now ?? (() => new Date());
    if (!(Number.isInteger(this.maxAttempts) && this.maxAttempts >= 1)) throw new Error(`maxAttempts must be an integer >= 1, got ${this.maxAttempts}`);
    if (!(Number.isInteger(this.pageSize) && this.pageSize >= 1)) throw new Error(`pageSize must be an integer >= 1, got ${this.pageSize}`);
    this.classifier = new TimedClassifier(options.model.classifier);
    this.preprocessor = new Preprocessor(inputSpecOf(options.model.manifest));
    this.accepted = options.model.manifest.input.grey.accepted_modalities;
    this.modelKey = `${this.model.sha256}|${this.model.manifest.calibration.version}`;
  }

  /** The calibration version results are now written under. */
  get calibrationVersion(): string {
    return this.model.manifest.calibration.version;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Finish the current image, then stop; wakes a worker waiting for its next poll. */
  requestStop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  /** Polls until stopped (or once). Resolves with the last pass. */
  async run({ once = false, intervalMs = 30_000 }: { once?: boolean; intervalMs?: number } = {}): Promise<PassResult> {
    for (;;) {
      const result = await this.runPass();
      if (once || this.stopRequested) return result;
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, intervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      if (this.stopRequested) return result;
    }
  }

  async runPass(): Promise<PassResult> {
    const started = performance.now();
    const tally = { studies: 0, scored: 0, skipped: 0, failed: 0, timings: [] as ImageTimings[] };
    // Before anything else: a log that no longer verifies throws here, and nothing is scored.
    const changed = await this.calibration?.check();
    if (changed) this.useCalibration(changed.manifest);
    this.counts.polls++;
    this.lastPollAt = this.now();
    const finish = (completed: boolean): PassResult => {
      this.state.save();
      return { completed, stopped: this.stopRequested, ...tally, ms: performance.now() - started };
    };

    let studies: DicomJson[];
    try {
      studies = await this.listStudies();
    } catch (error) {
      return finish(this.pacsFailed(error, 'listing studies'));
    }
    this.pacsAnswered();
    const mine = studies.filter(study => {
      const uid = value(study, TAG.StudyInstanceUID);
      return uid !== undefined && owns(this.shard, uid);
    });
    this.logger.log('info', 'polled', {
      studies: studies.length,
      inShard: mine.length,
      shard: `${this.shard.index}/${this.shard.count}`,
      ms: ms(performance.now() - started),
    });

    for (const study of mine) {
      if (this.stopRequested) break;
      tally.studies++;
      this.counts.studies++;
      try {
        await this.handleStudy(study, tally);
      } catch (error) {
        if (error instanceof PassAborted) return finish(this.pacsFailed(error.reason, 'reading a study'));
        // A study-level request failed with an answer (e.g. a 5xx after retries): the next poll
        // tries the study again; the others go on.
        this.logger.log('error', 'failed', {
          study: value(study, TAG.StudyInstanceUID),
          stage: 'study',
          kind: errorKind(error),
          error: messageOf(error),
        });
      }
      this.state.save();
    }
    const result = finish(true);
    this.logger.log('info', 'pass', {
      studies: result.studies,
      scored: result.scored,
      skipped: result.skipped,
      failed: result.failed,
      stopped: result.stopped,
      ms: ms(result.ms),
    });
    return result;
  }

  private useCalibration(manifest: Manifest): void {
    const from = this.calibrationVersion;
    this.model = { ...this.model, manifest };
    this.modelKey = `${this.model.sha256}|${manifest.calibration.version}`;
    this.logger.log('info', 'calibration-changed', {
      from,
      to: manifest.calibration.version,
      method: manifest.calibration.selected,
      threshold: manifest.thresholds.clinical.value,
      then: 'every study is examined again; images without a result under the new version are scored again',
    });
  }

  /** Logs and records a PACS failure; returns false (the pass did not complete). Rethrows anything else. */
  private pacsFailed(error: unknown, during: string): false {
    if (!unreachable(error) && !(error instanceof PacsHttpError)) throw error;
    this.pacsDownSince ??= this.now();
    this.logger.log('error', 'pacs-unreachable', {
      during,
      kind: errorKind(error),
      error: messageOf(error),
      downForS: ms((this.now().getTime() - this.pacsDownSince.getTime()) / 1000),
    });
    return false;
  }

  private pacsAnswered(): void {
    if (this.pacsDownSince) this.logger.log('info', 'pacs-reachable', { downForS: ms((this.now().getTime() - this.pacsDownSince.getTime()) / 1000) });
    this.pacsDownSince = null;
    this.lastPollOkAt = this.now();
  }

  private async listStudies(): Promise<DicomJson[]> {
    const all: DicomJson[] = [];
    for (let offset = 0; ; offset += this.pageSize) {
      const page = await this.pacs.searchStudies({
        includefield: STUDY_FIELDS,
        limit: this.pageSize,
        offset,
        ...(this.since ? { StudyDate: `${this.since}-` } : {}),
      });
      all.push(...page);
      if (page.length < this.pageSize) return all;
    }
  }

  /** Any PACS call inside a study: no answer at all aborts the pass. */
  private async ask<T>(call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      this.pacsAnswered();
      return result;
    } catch (error) {
      if (unreachable(error)) throw new PassAborted(error);
      throw error;
    }
  }

  private async handleStudy(study: DicomJson, tally: { scored: number; skipped: number; failed: number; timings: ImageTimings[] }): Promise<void> {
    const studyUID = value(study, TAG.StudyInstanceUID) as string;
    const modalities = values(study, TAG.ModalitiesInStudy).sort();
    const fingerprint = `${value(study, TAG.NumberOfStudyRelatedInstances) ?? '?'}|${modalities.join('\\')}`;
    const memo = this.state.data.studies[studyUID];
    if (memo && memo.fingerprint === fingerprint && memo.modelKey === this.modelKey) return;

    // A PACS that does not fill ModalitiesInStudy gets its series looked at instead.
    if (modalities.length > 0 && !modalities.some(m => this.accepted.includes(m))) {
      this.counts.skipped++;
      tally.skipped++;
      this.logger.log('info', 'skipped', {
        study: studyUID,
        reason: `not a chest radiograph study: modalities ${modalities.join('/')}, the model reads ${this.accepted.join('/')}`,
      });
      this.remember(studyUID, fingerprint);
      return;
    }

    const series = await this.ask(() => this.pacs.searchSeries(studyUID, { includefield: SERIES_FIELDS }));
    const done = await this.existingResults(studyUID, series);
    let complete = true;
    let wrote = false;
    for (const s of series) {
      const modality = value(s, TAG.Modality);
      const seriesUID = value(s, TAG.SeriesInstanceUID);
      if (!seriesUID || !modality || !this.accepted.includes(modality)) continue;
      const instances = await this.ask(() => this.pacs.searchInstances(studyUID, seriesUID, { includefield: [TAG.SOPClassUID] }));
      for (const instance of instances) {
        if (this.stopRequested) return;
        const sopUID = value(instance, TAG.SOPInstanceUID);
        if (!sopUID) continue;
        const key: ResultKey = { sopInstanceUID: sopUID, modelSha256: this.model.sha256, calibrationVersion: this.model.manifest.calibration.version };
        const text = keyText(key);
        if (done.has(text)) {
          delete this.state.data.failures[text];
          this.counts.skipped++;
          tally.skipped++;
          this.logger.log('info', 'skipped', { study: studyUID, sop: sopUID, reason: 'a ChestAid result for this image, model and calibration is already in the PACS' });
          continue;
        }
        const dead = this.state.data.deadLetter[text];
        if (dead) {
          this.counts.skipped++;
          tally.skipped++;
          this.logger.log('info', 'skipped', { study: studyUID, sop: sopUID, reason: `dead-lettered after ${dead.attempts} attempt(s): ${dead.lastError}` });
          continue;
        }
        const outcome = await this.processImage(studyUID, seriesUID, sopUID, text, tally);
        if (outcome === 'stored') wrote = true;
        else if (outcome === 'retry') complete = false;
      }
    }
    // A study this pass wrote to has a new fingerprint (its new objects); the next poll checks it
    // once more and remembers it then.
    if (complete && !wrote) this.remember(studyUID, fingerprint);
    else delete this.state.data.studies[studyUID];
  }

  private remember(studyUID: string, fingerprint: string): void {
    this.state.data.studies[studyUID] = { fingerprint, modelKey: this.modelKey, at: this.now().toISOString() };
  }

  /** Keys of the ChestAid result SRs the study already holds (any writer: this worker, another, a reader's panel). */
  private async existingResults(studyUID: string, series: readonly DicomJson[]): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const s of series) {
      if (value(s, TAG.Modality) !== 'SR' || value(s, TAG.SeriesDescription) !== RESULT_SR_SERIES_DESCRIPTION) continue;
      const seriesUID = value(s, TAG.SeriesInstanceUID);
      if (!seriesUID) continue;
      const metadata = await this.ask(() => this.pacs.retrieveSeriesMetadata(studyUID, seriesUID));
      for (const instance of metadata) {
        try {
          const content = readResultSr(instance);
          keys.add(keyText({ sopInstanceUID: content.source.sopInstanceUID, modelSha256: content.model.sha256, calibrationVersion: content.calibration.version }));
        } catch (error) {
          if (!(error instanceof DicomReadError)) throw error;
          // An SR in a ChestAid-named series that is not a readable ChestAid result says nothing
          // about which images are done; it is noted and ignored.
          this.logger.log('warn', 'unreadable-result', { study: studyUID, series: seriesUID, error: messageOf(error) });
        }
      }
    }
    return keys;
  }

  private async processImage(
    studyUID: string,
    seriesUID: string,
    sopUID: string,
    key: string,
    tally: { scored: number; failed: number; timings: ImageTimings[] },
  ): Promise<'stored' | 'retry' | 'dead'> {
    const started = performance.now();
    let stage = 'fetch';
    try {
      const bytes = await this.ask(() => this.pacs.retrieveInstance(studyUID, seriesUID, sopUID));
      const fetched = performance.now();
      stage = 'decode';
      const image = readPart10(bytes, `instance ${sopUID}`);
      const decoded = performance.now();
      stage = 'score';
      const analysis = await analyze(image.attributes, image.pixels, this.model.manifest, this.classifier, { preprocessor: this.preprocessor });
      const scoredAt = performance.now();
      const infer = this.classifier.lastMs;
      this.counts.scored++;
      tally.scored++;
      this.logger.log('info', 'scored', {
        study: studyUID,
        sop: sopUID,
        logit: analysis.logit,
        probability: analysis.probability,
        decision: analysis.decision.above ? 'above' : 'below',
        ms: { fetch: ms(fetched - started), decode: ms(decoded - fetched), preprocess: ms(scoredAt - decoded - infer), infer: ms(infer) },
      });
      stage = 'write';
      const outputs = await buildOutputs(image, analysis, this.model, this.now());
      await this.ask(() => this.pacs.store([outputs.map.part10], studyUID));
      await this.ask(() => this.pacs.store([outputs.sr.part10], studyUID));
      const written = performance.now();
      this.counts.stored++;
      delete this.state.data.failures[key];
      const timings: ImageTimings = {
        fetch: fetched - started,
        decode: decoded - fetched,
        preprocess: scoredAt - decoded - infer,
        infer,
        write: written - scoredAt,
        total: written - started,
      };
      tally.timings.push(timings);
      this.logger.log('info', 'stored', {
        study: studyUID,
        sop: sopUID,
        sr: outputs.sr.sopInstanceUID,
        map: outputs.map.sopInstanceUID,
        ms: { write: ms(timings.write), total: ms(timings.total) },
      });
      return 'stored';
    } catch (error) {
      if (error instanceof PassAborted) throw error;
      return this.recordFailure(studyUID, seriesUID, sopUID, key, stage, error, tally);
    }
  }

  private recordFailure(
    studyUID: string,
    seriesUID: string,
    sopUID: string,
    key: string,
    stage: string,
    error: unknown,
    tally: { failed: number },
  ): 'retry' | 'dead' {
    const isPermanent = permanent(error);
    const previous = this.state.data.failures[key];
    const attempts = (previous?.attempts ?? 0) + 1;
    const entry = { studyInstanceUID: studyUID, seriesInstanceUID: seriesUID, sopInstanceUID: sopUID, attempts, lastError: messageOf(error), at: this.now().toISOString() };
    this.counts.failed++;
    tally.failed++;
    const dead = isPermanent || attempts >= this.maxAttempts;
    this.logger.log('error', 'failed', {
      study: studyUID,
      sop: sopUID,
      stage,
      kind: errorKind(error),
      error: messageOf(error),
      attempt: attempts,
      maxAttempts: this.maxAttempts,
      willRetry: !dead,
    });
    if (!dead) {
      this.state.data.failures[key] = entry;
      return 'retry';
    }
    delete this.state.data.failures[key];
    this.state.data.deadLetter[key] = { ...entry, permanent: isPermanent };
    this.counts.deadLettered++;
    this.logger.log('error', 'dead-lettered', {
      study: studyUID,
      sop: sopUID,
      reason: isPermanent ? 'the image cannot be scored; retrying will not help' : `failed ${attempts} time(s)`,
      error: messageOf(error),
    });
    return 'dead';
  }
}
