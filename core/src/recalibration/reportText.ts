/**
 * A recalibration report, a refusal and a calibration history as plain text: what the CLI prints
 * (the page shows the same numbers as charts and tables). Framework-free.
 */
import type { CalibrationHistory } from '../siteCalibration/log';
import type { AuditEntry } from '../siteCalibration/chain';
import type { Confusion } from './metrics';
import type { RecalibrationReport } from './recalibrate';
import { decimal, methodName, percent, withInterval } from './format';

function confusionText(c: Confusion): string {
  return `TP ${c.tp}  FP ${c.fp}  TN ${c.tn}  FN ${c.fn}`;
}

export function reportText(report: RecalibrationReport): string {
  const t = report.threshold;
  const lines = [
    `Cohort: ${report.cohort.n} cases (${report.cohort.nPos} pneumonia, ${report.cohort.nNeg} normal)`,
    `Compared on cases each fit did not see: ${report.scheme.description}`,
    '',
    'method                                    ECE     ECE if calibrated  Brier   log loss  ROC AUC',
    ...Object.entries(report.candidates).map(
      ([method, e]) =>
        `${(method === report.selected ? '* ' : '  ') + methodName(method).padEnd(40)}${decimal(e.metrics.ece).padEnd(8)}${decimal(e.metrics.eceIfCalibrated).padEnd(19)}${decimal(e.metrics.brier).padEnd(8)}${decimal(e.metrics.nll).padEnd(10)}${decimal(e.metrics.rocAuc)}`,
    ),
    '',
    `Out-of-fold log loss (${report.selection.repeats} x ${report.selection.folds}-fold): ` +
      Object.entries(report.selection.oof)
        .map(([m, o]) => `${m} ${decimal(o?.nll, 4)} (+${decimal(o?.nllMinusBest, 4)}, SE ${decimal(o?.seOfDifference, 4)})`)
        .join(', '),
    `Chosen: ${methodName(report.selected)} (the simplest within one standard error of the lowest out-of-fold log loss, ${methodName(report.selection.best)}), refitted on the whole cohort: ${JSON.stringify(report.fitted[report.selected].params)}`,
    `                 before (${methodName(report.before.method)})   after (${methodName(report.after.method)})`,
    `ECE (held out)   ${decimal(report.before.heldOut.metrics.ece)}   ->   ${decimal(report.after.heldOut.metrics.ece)}`,
    `Brier (held out) ${decimal(report.before.heldOut.metrics.brier)}   ->   ${decimal(report.after.heldOut.metrics.brier)}`,
    `Threshold        ${percent(report.before.threshold)}   ->   ${withInterval(t.threshold.value, t.threshold.low, t.threshold.high, t.bootstrap.level)}`,
    `Confusion before at ${percent(report.before.threshold)}: ${confusionText(report.before.confusion)}`,
    `Confusion after  at ${percent(report.after.threshold)}: ${confusionText(report.after.confusion)}`,
    `Sensitivity at the new threshold ${withInterval(t.sensitivity.value, t.sensitivity.low, t.sensitivity.high)}, specificity ${withInterval(t.specificity.value, t.specificity.low, t.specificity.high)}`,
    `Rule: ${t.rule} (target ${percent(t.targetSensitivity, 0)}): it flags ${t.proof.flaggedPositives} of ${t.proof.nPos} pneumonia cases, lower bound ${percent(t.proof.lowerBound)}; exact 95 % interval of the sensitivity ${percent(t.sensitivityExact.low)} to ${percent(t.sensitivityExact.high)}`,
    `Intervals of the threshold and specificity: ${t.bootstrap.nBoot} bootstrap replicates stratified by class, seed ${t.bootstrap.seed}`,
  ];
  if (!report.improvesOnCurrent) lines.push('NOTE: the fit does not improve on the active calibration\'s log loss; accepting it is not advised.');
  if (report.warnings.length) lines.push('Fitting notes:', ...report.warnings.map(w => `  - ${w}`));
  return lines.join('\n');
}

export function refusalText(reasons: readonly string[]): string {
  return ['Refused: the cohort cannot support a recalibration.', ...reasons.map(r => `  - ${r}`)].join('\n');
}

function entryText(e: AuditEntry): string {
  const metrics = e.metricsBefore && e.metricsAfter ? `, ECE ${decimal(e.metricsBefore.ece)} -> ${decimal(e.metricsAfter.ece)}` : '';
  const cohort = e.cohort ? `, cohort ${e.cohort.n} (sha256 ${e.cohort.sha256.slice(0, 12)})` : '';
  if (e.action === 'repair') return `#${e.seq} ${e.at} ${e.actor}: repair (${e.repair?.what}): ${e.repair?.detail}; ${e.version} stays active ${e.hash.slice(0, 12)}`;
  if (e.action === 'policy') return `#${e.seq} ${e.at} ${e.actor}: policy: minimum target sensitivity raised to ${percent(e.minTargetSensitivity as number)}; ${e.version} stays active ${e.hash.slice(0, 12)}`;
  return `#${e.seq} ${e.at} ${e.actor}: ${e.action} ${e.previousVersion} -> ${e.version} (${e.method}, threshold ${percent(e.threshold)}${cohort}${metrics}) ${e.hash.slice(0, 12)}`;
}

export function historyText(history: CalibrationHistory): string {
  return [
    `Versions: ${history.versions.map(v => (v === history.active ? `${v} (active)` : v)).join(', ')}`,
    `Minimum target sensitivity: ${percent(history.minTargetSensitivity)}`,
    history.entries.length ? 'Audit log:' : 'Audit log: empty (the manifest\'s own calibration is active)',
    ...history.entries.map(entryText),
  ].join('\n');
}
