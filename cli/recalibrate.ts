/**
 * chestaid-recalibrate: the recalibration admin page's job from a shell, over the same core
 * (fit, overlay, audit log) and the Node file store a deployment serves beside its model.
 *
 *   npm run recalibrate -- --scores cohort.csv --manifest models/chestaid-demo/manifest.json --actor "Dr A"
 *   npm run recalibrate -- --history --manifest ...
 *   npm run recalibrate -- --rollback 1 --manifest ... --actor "Dr A"
 *
 * --scores   CSV key,logit,label[,model_sha256] (extension/src/calibration/cohortCsv.ts): the
 *            deployed model's logits with ground truth (e.g. exported from the feedback)
 * --store    the calibration directory (default: calibration/ beside the manifest, where the
 *            viewer reads it when the deployment serves the log)
 * --model    the ONNX file: its sha256 must be the manifest's (default: the manifest's own sha256)
 * --dry-run  print the report, write nothing
 * --target-sensitivity, --seed, --json
 * Exit status: 0 done, 1 error, 2 refused (reasons printed), 3 another admin changed the log first.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { cohortSha256, overlayFromReport } from '../extension/src/calibration/overlay';
import { parseScoreCohortCsv } from '../extension/src/calibration/cohortCsv';
import { historyText, refusalText, reportText } from '../extension/src/calibration/reportText';
import { FileCalibrationStore } from '../extension/src/calibrationVersions/fileStore';
import { CalibrationVersions, ConflictError, nextSiteVersion, parseManifest } from '../extension/src/core';
import { recalibrate, RefusalError } from '../extension/src/core/recalibration';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now?: () => Date;
}

const USAGE = `usage: chestaid-recalibrate --manifest FILE (--scores CSV --actor NAME [--dry-run] | --history | --rollback VERSION --actor NAME)
       [--store DIR] [--model FILE.onnx] [--target-sensitivity 0.9] [--seed 0] [--json]`;

export class UsageError extends Error {}

interface Options {
  manifest?: string;
  scores?: string;
  store?: string;
  model?: string;
  actor?: string;
  rollback?: string;
  history: boolean;
  dryRun: boolean;
  json: boolean;
  targetSensitivity?: number;
  seed?: number;
}

export function parseArgs(argv: readonly string[]): Options {
  const options: Options = { history: false, dryRun: false, json: false };
  const valued: Record<string, keyof Options> = {
    '--manifest': 'manifest',
    '--scores': 'scores',
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
    else if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--json') options.json = true;
    else if (arg === '--target-sensitivity' || arg === '--seed') {
      const text = next();
      const value = Number(text);
      if (!Number.isFinite(value)) throw new UsageError(`${arg} ${JSON.stringify(text)} is not a number`);
      if (arg === '--seed') options.seed = value;
      else options.targetSensitivity = value;
    } else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (!options.manifest) throw new UsageError('--manifest is required');
  const actions = [options.scores !== undefined, options.history, options.rollback !== undefined].filter(Boolean).length;
  if (actions !== 1) throw new UsageError('give exactly one of --scores, --history, --rollback');
  if ((options.scores !== undefined && !options.dryRun) || options.rollback !== undefined) {
    if (!options.actor || options.actor.trim() === '') throw new UsageError('--actor NAME is required to change the calibration (it goes in the audit log)');
  }
  return options;
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
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
    const versions = new CalibrationVersions({ store: new FileCalibrationStore(storeDir, { modelSha256 }), manifest, modelSha256, clock: io.now });
    const { manifest: active, history } = await versions.manifestOf();
    if (manifest.data.synthetic === true) io.err('Note: this model was trained on synthetic data; not for clinical use.');

    if (options.history) {
      io.out(options.json ? JSON.stringify(history, null, 1) : historyText(history));
      return 0;
    }
    if (options.rollback !== undefined) {
      const entry = await versions.rollbackTo(options.rollback, { actor: options.actor as string, expectedHead: history.head });
      io.out(`Rolled back: ${entry.previousVersion} -> ${entry.version} is active (audit entry #${entry.seq}, ${storeDir}).`);
      return 0;
    }

    const rows = parseScoreCohortCsv(readFileSync(resolve(options.scores as string), 'utf8'));
    let report;
    try {
      report = recalibrate(
        rows.map(({ key, logit, label, modelSha256: sha }) => ({ key, logit, label, ...(sha ? { modelSha256: sha } : {}) })),
        {
          current: active.calibration,
          currentThreshold: active.thresholds.clinical.value,
          modelSha256,
          targetSensitivity: options.targetSensitivity,
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
