/**
 * chestaid-recalibrate: the recalibration admin page's job from a shell, over the same core
 * (fit, overlay, audit log) and the Node file store a deployment serves beside its model.
 *
 *   npm run recalibrate -- --scores cohort.csv --manifest models/chestaid-demo/manifest.json --actor "Dr A"
 *   npm run recalibrate -- --images files.csv --manifest ... --actor "Dr A"           (file,label)
 *   npm run recalibrate -- --images uids.csv --pacs http://127.0.0.1:8042/dicom-web --manifest ... --actor "Dr A"
 *   npm run recalibrate -- --history --manifest ...
 *   npm run recalibrate -- --rollback 1 --manifest ... --actor "Dr A"
 *   npm run recalibrate -- --init --manifest ...                   (an empty log, once per deployment)
 *   npm run recalibrate -- --repair --manifest ... --actor "Dr A"  (a torn line, an orphan overlay)
 *   npm run recalibrate -- --min-target-sensitivity 0.95 --manifest ... --actor "Dr A"
 *
 * --scores   CSV key,logit,label[,model_sha256] (core/src/recalibration/cohortCsv.ts): the
 *            deployed model's logits with ground truth (e.g. exported from the feedback)
 * --images   a CSV of images to score first with the deployed model (onnxruntime-node, the
 *            worker's model loader and Part 10 reader, the core's analyze): file,label (Part 10
 *            files, paths relative to the CSV) or StudyInstanceUID,SeriesInstanceUID,
 *            SOPInstanceUID,label with --pacs (a DICOMweb root: WADO-RS). Images that cannot be
 *            scored are listed and left out; --write-scores FILE keeps the logits as a scores CSV
 * --store    the calibration directory (default: calibration/ beside the manifest, where the
 *            viewer reads it when the deployment serves the log)
 * --model    the ONNX file: its sha256 must be the manifest's (default: the manifest's own sha256)
 * --dry-run  print the report, write nothing
 * --init     create the empty log of a deployment that never had one: a log that is not there
 *            is missing (every reader refuses it), never "no change yet"
 * --repair   mend what a crashed write left, under the log lock, with an audit entry each: a torn
 *            last line is cut (its bytes kept in the entry), an overlay whose log line was never
 *            appended is moved to overlays/orphaned/. Every change (fit, rollback) does this first
 * --min-target-sensitivity  raise the site's minimum target sensitivity (never lowered; the
 *            manifest's clinical target is the floor): every later change is held to it
 * --target-sensitivity (default: the minimum in force), --seed, --json
 * Exit status: 0 done, 1 error, 2 refused (reasons printed), 3 another admin changed the log first.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import {
  analyze,
  SiteCalibrationLog,
  cohortCsvKind,
  type CohortLabel,
  cohortSha256,
  ConflictError,
  DicomWebClient,
  historyText,
  BelowMinimumError,
  inputSpecOf,
  nextSiteVersion,
  overlayFromReport,
  parseFileCohortCsv,
  parseImageCohortCsv,
  parseManifest,
  parseScoreCohortCsv,
  Preprocessor,
  recalibrate,
  RefusalError,
  refusalText,
  reportText,
} from '@chestaid/core';
import { FileSiteCalibrationStore } from '@chestaid/core/node';
import { decodePart10, loadModel } from '@chestaid/worker';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now?: () => Date;
}

const USAGE = `usage: chestaid-recalibrate --manifest FILE ((--scores CSV | --images CSV [--pacs URL] [--write-scores CSV]) --actor NAME [--dry-run]
                            | --history | --rollback VERSION --actor NAME | --init | --repair --actor NAME
                            | --min-target-sensitivity S --actor NAME)
       [--store DIR] [--model FILE.onnx] [--target-sensitivity S] [--seed 0] [--json]`;

export class UsageError extends Error {}

interface Options {
  manifest?: string;
  scores?: string;
  images?: string;
  pacs?: string;
  writeScores?: string;
  store?: string;
  model?: string;
  actor?: string;
  rollback?: string;
  history: boolean;
  init: boolean;
  repair: boolean;
  minTargetSensitivity?: number;
  dryRun: boolean;
  json: boolean;
  targetSensitivity?: number;
  seed?: number;
}

export function parseArgs(argv: readonly string[]): Options {
  const options: Options = { history: false, init: false, repair: false, dryRun: false, json: false };
  const valued: Record<string, keyof Options> = {
    '--manifest': 'manifest',
    '--scores': 'scores',
    '--images': 'images',
    '--pacs': 'pacs',
    '--write-scores': 'writeScores',
    '--store': 'store',
    '--model': 'model',
    '--actor': 'actor',
    '--rollback': 'rollback',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return value;
    };
    if (arg in valued) (options as unknown as Record<string, unknown>)[valued[arg]] = next();
    else if (arg === '--history') options.history = true;
    else if (arg === '--init') options.init = true;
    else if (arg === '--repair') options.repair = true;
    else if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--json') options.json = true;
    else if (arg === '--target-sensitivity' || arg === '--seed' || arg === '--min-target-sensitivity') {
      const text = next();
      const value = Number(text);
      if (!Number.isFinite(value)) throw new UsageError(`${arg} ${JSON.stringify(text)} is not a number`);
      if (arg === '--seed') options.seed = value;
      else if (arg === '--min-target-sensitivity') options.minTargetSensitivity = value;
      else options.targetSensitivity = value;
    } else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (!options.manifest) throw new UsageError('--manifest is required');
  const actions = [
    options.scores !== undefined, options.images !== undefined, options.history, options.rollback !== undefined,
    options.init, options.repair, options.minTargetSensitivity !== undefined,
  ].filter(Boolean).length;
  if (actions !== 1) throw new UsageError('give exactly one of --scores, --images, --history, --rollback, --init, --repair, --min-target-sensitivity');
  const fitting = options.scores !== undefined || options.images !== undefined;
  if ((options.pacs !== undefined || options.writeScores !== undefined) && options.images === undefined) throw new UsageError('--pacs and --write-scores go with --images');
  if ((fitting && !options.dryRun) || options.rollback !== undefined || options.repair || options.minTargetSensitivity !== undefined) {
    if (!options.actor || options.actor.trim() === '') throw new UsageError('--actor NAME is required to change the calibration (it goes in the audit log)');
  }
  return options;
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

interface Scored {
  readonly key: string;
  readonly logit: number;
  readonly label: CohortLabel;
  readonly modelSha256: string;
}

/**
 * Scores a CSV of images with the deployed model (the worker's onnxruntime-node loader, which
 * checks the ONNX file's sha256, and Part 10 reader; the core's analyze). Images that cannot be
 * read or scored are reported and left out: the fit's minimums then decide.
 */
async function scoreImages(csvPath: string, manifestPath: string, pacs: string | undefined, io: CliIo): Promise<{ cases: Scored[]; sha256: string }> {
  const text = readFileSync(csvPath, 'utf8');
  const kind = cohortCsvKind(text);
  type Job = { line: number; label: CohortLabel; where: string; bytes: () => Promise<Uint8Array | ArrayBuffer> };
  let jobs: Job[];
  if (kind === 'files') {
    jobs = parseFileCohortCsv(text).map(row => {
      const file = resolve(dirname(csvPath), row.file);
      return { line: row.line, label: row.label, where: file, bytes: async () => readFileSync(file) };
    });
  } else if (kind === 'images') {
    if (!pacs) throw new UsageError(`${csvPath} names images by UID: give --pacs with the DICOMweb root to fetch them from`);
    const client = new DicomWebClient({ baseUrl: pacs });
    jobs = parseImageCohortCsv(text).map(row => ({
      line: row.line,
      label: row.label,
      where: `instance ${row.sopInstanceUID}`,
      bytes: () => client.retrieveInstance(row.studyInstanceUID, row.seriesInstanceUID, row.sopInstanceUID),
    }));
  } else throw new UsageError(`${csvPath} is a scores CSV (key,logit,label): give it with --scores`);

  const model = await loadModel(manifestPath);
  const preprocessor = new Preprocessor(inputSpecOf(model.manifest));
  const cases: Scored[] = [];
  const failures: string[] = [];
  const started = Date.now();
  for (const [i, job] of jobs.entries()) {
    try {
      const image = await decodePart10(await job.bytes(), job.where);
      const analysis = await analyze(image.attributes, image.pixels, model.manifest, model.classifier, { preprocessor });
      cases.push({ key: image.sopInstanceUID, logit: analysis.logit, label: job.label, modelSha256: model.sha256 });
    } catch (error) {
      failures.push(`line ${job.line}: ${(error as Error).message}`);
    }
    if ((i + 1) % 25 === 0 || i + 1 === jobs.length) io.err(`scored ${i + 1} of ${jobs.length} images (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  if (failures.length) io.err([`${failures.length} image(s) left out:`, ...failures.map(f => `  - ${f}`)].join('\n'));
  return { cases, sha256: model.sha256 };
}

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 1;
  }
  try {
    const manifestPath = resolve(options.manifest as string);
    const manifest = parseManifest(JSON.parse(readFileSync(manifestPath, 'utf8')));
    const modelSha256 = options.model ? sha256Of(resolve(options.model)) : manifest.onnx.sha256.toLowerCase();
    if (modelSha256 !== manifest.onnx.sha256.toLowerCase()) {
      throw new Error(`${options.model} has sha256 ${modelSha256}, but the manifest describes ${manifest.onnx.sha256}: not the deployed model`);
    }
    const storeDir = resolve(options.store ?? join(dirname(manifestPath), 'calibration'));
    const store = new FileSiteCalibrationStore(storeDir, { modelSha256 });
    if (options.init) {
      await store.init(manifest.calibration.version);
      io.out(`Created an empty calibration log in ${storeDir}: the manifest's calibration ${manifest.calibration.version} is active.`);
      return 0;
    }
    const changing = options.repair || options.rollback !== undefined || options.minTargetSensitivity !== undefined || ((options.scores !== undefined || options.images !== undefined) && !options.dryRun);
    if (changing) {
      // What a crashed write left (a torn line, an orphan overlay) would block this change: mend it first, in the log.
      const repairs = await store.recover({ actor: options.actor as string, manifest, now: io.now });
      for (const entry of repairs) io.err(`Repaired (audit entry #${entry.seq}): ${entry.repair?.detail}`);
      if (options.repair) {
        io.out(repairs.length === 0 ? `Nothing to repair in ${storeDir}.` : `${repairs.length} repair(s) recorded in ${storeDir}.`);
        return 0;
      }
    }
    const versions = new SiteCalibrationLog({ store, manifest, modelSha256, clock: io.now });
    const { manifest: active, history } = await versions.manifestOf();
    if (manifest.data.synthetic === true) io.err('Note: this model was trained on synthetic data; not for clinical use.');

    if (options.minTargetSensitivity !== undefined) {
      const entry = await versions.raiseMinimum(options.minTargetSensitivity, { actor: options.actor as string, expectedHead: history.head });
      io.out(`Minimum target sensitivity raised to ${entry.minTargetSensitivity} (audit entry #${entry.seq}, ${storeDir}).`);
      return 0;
    }
    const targetSensitivity = options.targetSensitivity ?? history.minTargetSensitivity;
    if (targetSensitivity < history.minTargetSensitivity) {
      io.err(`Refused: target sensitivity ${targetSensitivity} is below the minimum ${history.minTargetSensitivity} this model's calibration may target.`);
      return 2;
    }

    if (options.history) {
      io.out(options.json ? JSON.stringify(history, null, 1) : historyText(history));
      return 0;
    }
    if (options.rollback !== undefined) {
      const entry = await versions.rollbackTo(options.rollback, { actor: options.actor as string, expectedHead: history.head });
      io.out(`Rolled back: ${entry.previousVersion} -> ${entry.version} is active (audit entry #${entry.seq}, ${storeDir}).`);
      return 0;
    }

    let rows: readonly { key: string; logit: number; label: CohortLabel; modelSha256?: string }[];
    if (options.images !== undefined) {
      const scored = await scoreImages(resolve(options.images), manifestPath, options.pacs, io);
      if (scored.sha256 !== modelSha256) throw new Error(`the model scored with has sha256 ${scored.sha256}, not ${modelSha256}`);
      rows = scored.cases;
      if (options.writeScores) {
        const lines = ['key,logit,label,model_sha256', ...scored.cases.map(c => `${c.key},${c.logit},${c.label === 'unsure' ? 'unsure' : c.label},${c.modelSha256}`)];
        writeFileSync(resolve(options.writeScores), `${lines.join('\n')}\n`);
        io.err(`logits written to ${options.writeScores}`);
      }
    } else rows = parseScoreCohortCsv(readFileSync(resolve(options.scores as string), 'utf8'));
    let report;
    try {
      report = recalibrate(
        rows.map(({ key, logit, label, modelSha256: sha }) => ({ key, logit, label, ...(sha ? { modelSha256: sha } : {}) })),
        {
          current: active.calibration,
          currentThreshold: active.thresholds.clinical.value,
          modelSha256,
          targetSensitivity,
          seed: options.seed,
        },
      );
    } catch (error) {
      if (error instanceof RefusalError) {
        io.err(refusalText(error.reasons));
        return 2;
      }
      throw error;
    }
    io.out(`Active before: ${history.active} (${active.calibration.selected}, threshold ${active.thresholds.clinical.value})`);
    io.out(options.json ? JSON.stringify({ ...report, cohort: { ...report.cohort, sha256: await cohortSha256(report) } }, null, 1) : reportText(report));
    if (options.dryRun) {
      io.out('Dry run: nothing written.');
      return 0;
    }
    const overlay = await overlayFromReport(report, {
      manifest: active,
      modelSha256,
      version: nextSiteVersion(history.versions),
      previousVersion: history.active,
      actor: options.actor as string,
      at: (io.now ?? (() => new Date()))().toISOString(),
      source: 'csv',
    });
    const entry = await versions.accept(JSON.parse(JSON.stringify(overlay)), { actor: options.actor as string, expectedHead: history.head });
    io.out(`Accepted: ${entry.version} is active (previous ${entry.previousVersion}; audit entry #${entry.seq}, ${storeDir}).`);
    return 0;
  } catch (error) {
    if (error instanceof BelowMinimumError) {
      io.err(`Refused: ${error.message}`);
      return 2;
    }
    if (error instanceof ConflictError) {
      io.err(`Another admin changed the calibration log first: ${error.message}. Nothing was written; run again against the version now active.`);
      return 3;
    }
    io.err(`chestaid-recalibrate: ${(error as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), { out: t => process.stdout.write(`${t}\n`), err: t => process.stderr.write(`${t}\n`) }).then(code => {
    process.exitCode = code;
  });
}
