/**
 * The recalibration admin page (a custom route of the viewer, an island of our React): pick a
 * labelled local cohort (the recorded feedback, or a CSV of images scored now by the deployed
 * model), see the fit or the reasons it was refused, compare before and after side by side on the
 * cases the fit did not see, accept it under your name, and roll back to any earlier version. It
 * shows what RecalibrationService announces and asks it to act.
 */
import { useEffect, useState, type ChangeEvent } from 'react';

import {
  type AuditEntry,
  calibrationLabel,
  calibrationOrigin,
  type Confusion,
  decimal,
  etaText,
  type Manifest,
  type MethodEvaluation,
  methodName,
  percent,
  type RecalibrationReport,
  withInterval,
} from '@chestaid/core';
import { ColumnHeads, ErrorLine, LinkButton, ProgressBar } from '../pageParts';
import { useServiceState } from '../triage/RiskColumn';
import { AFTER_COLOUR, BEFORE_COLOUR, ReliabilityDiagram, RocChart } from './Charts';
import type { RecalibrationService } from './RecalibrationService';
import { MONITORING_PATH } from './ids';

const BUTTON = 'rounded px-3 py-1 font-semibold';
const PRIMARY = `${BUTTON} bg-primary text-primary-foreground`;
const SECONDARY = `${BUTTON} bg-secondary text-secondary-foreground`;
const CELL = { padding: '4px 8px', borderBottom: '1px solid rgba(255,255,255,0.08)', textAlign: 'left', verticalAlign: 'top' } as const;
const SECTION = { marginTop: 16 } as const;

export interface RecalibrationPageProps {
  readonly calibration: Pick<RecalibrationService, 'EVENTS' | 'getState' | 'subscribe' | 'open' | 'useFeedback' | 'useCsv' | 'cancel' | 'accept' | 'rollback' | 'actor'>;
  readonly navigate: (path: string) => void;
}

export function SyntheticNotice({ manifest }: { manifest: Manifest | null }) {
  if (!manifest || (manifest.data as { synthetic?: boolean } | undefined)?.synthetic !== true) return null;
  return (
    <p className="text-red-600 font-semibold" data-cy="chestaid-synthetic">
      The model was trained on synthetic data: not for clinical use. Its scores and any calibration fitted to them demonstrate the mechanism only.
    </p>
  );
}

function ConfusionMatrix({ confusion, threshold, cy }: { confusion: Confusion; threshold: number; cy: string }) {
  return (
    <table style={{ borderCollapse: 'collapse' }} data-cy={cy} data-tp={confusion.tp} data-fp={confusion.fp} data-tn={confusion.tn} data-fn={confusion.fn}>
      <caption className="text-xs text-muted-foreground" style={{ textAlign: 'left' }}>
        Confusion matrix at threshold {percent(threshold)} (whole cohort)
      </caption>
      <thead>
        <tr>
          <th style={CELL} scope="col" />
          <th style={CELL} scope="col">
            truth: pneumonia
          </th>
          <th style={CELL} scope="col">
            truth: normal
          </th>
        </tr>
      </thead>
      <tbody>
        <tr>
          <th style={CELL} scope="row">
            flagged (above)
          </th>
          <td style={CELL}>TP {confusion.tp}</td>
          <td style={CELL}>FP {confusion.fp}</td>
        </tr>
        <tr>
          <th style={CELL} scope="row">
            not flagged (below)
          </th>
          <td style={CELL}>FN {confusion.fn}</td>
          <td style={CELL}>TN {confusion.tn}</td>
        </tr>
      </tbody>
    </table>
  );
}

function operatingPoint(c: Confusion) {
  const pos = c.tp + c.fn;
  const neg = c.tn + c.fp;
  return pos && neg ? { tpr: c.tp / pos, fpr: c.fp / neg } : null;
}

function Side({
  which,
  title,
  method,
  evaluation,
  confusion,
  threshold,
  thresholdText,
}: {
  which: 'before' | 'after';
  title: string;
  method: string;
  evaluation: MethodEvaluation;
  confusion: Confusion;
  threshold: number;
  thresholdText: string;
}) {
  const colour = which === 'before' ? BEFORE_COLOUR : AFTER_COLOUR;
  return (
    <section aria-label={title} data-cy={`chestaid-calibration-${which}`} className="flex flex-col gap-2" style={{ flex: '1 1 380px' }}>
      <h3 className="text-lg font-semibold" style={{ color: colour }}>
        {title}
      </h3>
      <p className="text-xs">{methodName(method)}</p>
      <dl className="grid text-sm" style={{ gridTemplateColumns: 'max-content auto', columnGap: 12 }}>
        <dt>ECE (held out)</dt>
        <dd data-cy={`chestaid-calibration-${which}-ece`} data-value={evaluation.metrics.ece}>
          {decimal(evaluation.metrics.ece)}
        </dd>
        <dt>Brier (held out)</dt>
        <dd data-cy={`chestaid-calibration-${which}-brier`} data-value={evaluation.metrics.brier}>
          {decimal(evaluation.metrics.brier)}
        </dd>
        <dt>Threshold</dt>
        <dd data-cy={`chestaid-calibration-${which}-threshold`} data-value={threshold}>
          {thresholdText}
        </dd>
      </dl>
      <div className="flex flex-wrap gap-2">
        <ReliabilityDiagram bins={evaluation.reliability} title={`Reliability, ${which} (held out)`} colour={colour} cy={`chestaid-reliability-${which}`} />
        <RocChart
          points={evaluation.roc.points}
          auc={evaluation.roc.auc}
          title={`ROC, ${which} (held out)`}
          colour={colour}
          cy={`chestaid-roc-${which}`}
          operating={operatingPoint(confusion)}
        />
      </div>
      <ConfusionMatrix confusion={confusion} threshold={threshold} cy={`chestaid-confusion-${which}`} />
    </section>
  );
}

function Report({ report }: { report: RecalibrationReport }) {
  const t = report.threshold;
  return (
    <section style={SECTION} aria-label="Recalibration result" data-cy="chestaid-calibration-report" data-selected={report.selected}>
      <h2 className="text-lg font-semibold">Result</h2>
      <p className="text-sm">
        {report.cohort.n} cases ({report.cohort.nPos} pneumonia, {report.cohort.nNeg} normal). Methods compared on cases they were not fitted on:{' '}
        {report.scheme.description}. Chosen: <strong>{methodName(report.selected)}</strong> (the simplest method within one standard error of the lowest
        out-of-fold log loss), refitted on the whole cohort.
        {' '}The new threshold flags {t.proof.flaggedPositives} of {t.proof.nPos} pneumonia cases: its sensitivity is at least{' '}
        {percent(t.proof.lowerBound)} with 95 % confidence (Clopper-Pearson).
        {!report.improvesOnCurrent && (
          <strong className="text-yellow-500" data-cy="chestaid-calibration-no-gain">
            {' '}
            It does not improve on the active calibration&apos;s log loss: accepting it is not advised.
          </strong>
        )}
      </p>
      <table style={{ borderCollapse: 'collapse', marginTop: 8 }} className="text-sm" data-cy="chestaid-calibration-candidates">
        <caption className="text-xs text-muted-foreground" style={{ textAlign: 'left' }}>
          Held-out metrics of each method
        </caption>
        <ColumnHeads columns={['method', 'ECE', 'Brier', 'log loss', 'ROC AUC']} cellStyle={CELL} />
        <tbody>
          {Object.entries(report.candidates).map(([method, e]) => (
            <tr key={method} style={method === report.selected ? { fontWeight: 600 } : undefined}>
              <th style={CELL} scope="row">
                {methodName(method)}
              </th>
              <td style={CELL}>{decimal(e.metrics.ece)}</td>
              <td style={CELL}>{decimal(e.metrics.brier)}</td>
              <td style={CELL}>{decimal(e.metrics.nll)}</td>
              <td style={CELL}>{decimal(e.metrics.rocAuc)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="flex flex-wrap gap-6" style={SECTION}>
        <Side
          which="before"
          title="Before: the active calibration"
          method={report.before.method}
          evaluation={report.before.heldOut}
          confusion={report.before.confusion}
          threshold={report.before.threshold}
          thresholdText={percent(report.before.threshold)}
        />
        <Side
          which="after"
          title="After: the fitted calibration"
          method={report.after.method}
          evaluation={report.after.heldOut}
          confusion={report.after.confusion}
          threshold={report.after.threshold}
          thresholdText={withInterval(t.threshold.value, t.threshold.low, t.threshold.high, t.bootstrap.level)}
        />
      </div>
      <p className="text-xs text-muted-foreground" style={{ marginTop: 8 }}>
        New threshold: {t.rule} (target sensitivity {percent(t.targetSensitivity, 0)}); sensitivity there{' '}
        {withInterval(t.sensitivity.value, t.sensitivity.low, t.sensitivity.high, t.bootstrap.level)}, specificity{' '}
        {withInterval(t.specificity.value, t.specificity.low, t.specificity.high, t.bootstrap.level)}; {t.bootstrap.nBoot} bootstrap replicates
        stratified by class.
      </p>
      {report.warnings.length > 0 && (
        <details className="text-xs" style={{ marginTop: 4 }}>
          <summary>{report.warnings.length} fitting note(s)</summary>
          <ul>
            {report.warnings.map(w => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function History({ entries, active, versions, onRollback, busy }: { entries: readonly AuditEntry[]; active: string; versions: readonly string[]; onRollback: (v: string) => void; busy: boolean }) {
  return (
    <section style={SECTION} aria-label="Calibration versions and audit log" data-cy="chestaid-calibration-history">
      <h2 className="text-lg font-semibold">Versions</h2>
      <ul className="text-sm flex flex-col gap-1">
        {versions.map(version => (
          <li key={version} data-cy="chestaid-calibration-version" data-version={version} data-active={version === active}>
            {version}
            {version === active ? (
              <strong> (active)</strong>
            ) : (
              <button type="button" className={SECONDARY} style={{ marginLeft: 8 }} disabled={busy} onClick={() => onRollback(version)} data-cy="chestaid-calibration-rollback">
                Roll back to {version}
              </button>
            )}
          </li>
        ))}
      </ul>
      <table style={{ borderCollapse: 'collapse', marginTop: 8, width: '100%' }} className="text-xs" data-cy="chestaid-calibration-log">
        <caption className="text-muted-foreground" style={{ textAlign: 'left' }}>
          Audit log (append-only; each entry sealed with the hash of the one before)
        </caption>
        <ColumnHeads columns={['#', 'when', 'who', 'action', 'version', 'previous', 'cohort', 'method', 'threshold', 'ECE before → after', 'hash']} cellStyle={CELL} />
        <tbody>
          {entries.length === 0 && (
            <tr>
              <td style={CELL} colSpan={11}>
                No change yet: the manifest&apos;s own calibration is active.
              </td>
            </tr>
          )}
          {entries.map(e => (
            <tr key={e.seq} data-cy="chestaid-calibration-log-entry" data-action={e.action} data-version={e.version}>
              <td style={CELL}>{e.seq}</td>
              <td style={CELL}>{e.at}</td>
              <td style={CELL}>{e.actor}</td>
              <td style={CELL}>{e.action}</td>
              <td style={CELL}>{e.version}</td>
              <td style={CELL}>{e.previousVersion}</td>
              <td style={CELL}>{e.cohort ? `${e.cohort.n} (sha256 ${e.cohort.sha256.slice(0, 12)}…)` : '–'}</td>
              <td style={CELL}>{e.method}</td>
              <td style={CELL}>{percent(e.threshold)}</td>
              <td style={CELL}>{e.metricsBefore && e.metricsAfter ? `${decimal(e.metricsBefore.ece)} → ${decimal(e.metricsAfter.ece)}` : '–'}</td>
              <td style={CELL} title={e.hash}>
                {e.hash.slice(0, 12)}…
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function RecalibrationPage({ calibration, navigate }: RecalibrationPageProps) {
  const state = useServiceState(calibration);
  const [actor, setActor] = useState('');
  useEffect(() => {
    void calibration.open();
  }, [calibration]);

  const { model, cohort, fit, change } = state;
  const ready = model.status === 'ready';
  const scoring = cohort.status === 'scoring';
  const busy = change.status === 'saving' || scoring;
  // With a login, the change is recorded under the logged-in admin; without one, under the name typed here.
  const who = calibration.actor();
  const named = who.kind === 'login' || (who.kind === 'typed' && actor.trim() !== '');
  const typed = who.kind === 'typed' ? actor : undefined;
  const onFile = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (file) void file.text().then(text => calibration.useCsv(text));
  };

  return (
    <main className="bg-background text-foreground text-sm" style={{ height: '100vh', overflow: 'auto', padding: 16, boxSizing: 'border-box' }} data-cy="chestaid-calibration" aria-label="ChestAid recalibration">
      <header className="flex flex-col gap-1">
        <h1 className="text-xl font-semibold">ChestAid: recalibrate the score and threshold on this site&apos;s patients</h1>
        <SyntheticNotice manifest={ready ? model.active : null} />
        {ready && (
          <p data-cy="chestaid-calibration-active" data-version={model.history.active}>
            Model {model.active.model.id} {model.active.model.version} (sha256 {model.modelSha256.slice(0, 12)}…), active{' '}
            {calibrationLabel(calibrationOrigin(model.active))}: {methodName(model.active.calibration.selected)}, threshold{' '}
            {percent(model.active.thresholds.clinical.value)}.
          </p>
        )}
        {model.status === 'error' && <ErrorLine cy="chestaid-calibration-error">{model.message}</ErrorLine>}
        <nav className="flex gap-4">
          <LinkButton onClick={() => navigate('/')}>
            Study list
          </LinkButton>
          <LinkButton onClick={() => navigate(MONITORING_PATH)}>
            Monitoring
          </LinkButton>
        </nav>
      </header>

      <section style={SECTION} aria-label="Cohort">
        <h2 className="text-lg font-semibold">1. Labelled local cohort</h2>
        <p className="text-xs text-muted-foreground">
          At least 100 images with a definite label, 20 of each class (unsure labels are left out). The backbone is not retrained: only the
          mapping from the model&apos;s logit to a probability, and the threshold, are fitted.
        </p>
        <div className="flex flex-wrap items-center gap-3" style={{ marginTop: 6 }}>
          <button type="button" className={PRIMARY} disabled={!ready || busy} onClick={() => void calibration.useFeedback()} data-cy="chestaid-calibration-use-feedback">
            Use the recorded feedback
          </button>
          <label className={SECONDARY} style={{ cursor: ready && !busy ? 'pointer' : 'not-allowed' }}>
            CSV of images (StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, label)…
            <input type="file" accept=".csv,text/csv" style={{ display: 'none' }} disabled={!ready || busy} onChange={onFile} data-cy="chestaid-calibration-csv" />
          </label>
          {scoring && (
            <button type="button" className={SECONDARY} onClick={() => calibration.cancel()} data-cy="chestaid-calibration-cancel">
              Cancel
            </button>
          )}
        </div>
        {scoring && (
          <div style={{ marginTop: 8 }}>
            <ProgressBar label="Scoring the cohort" done={cohort.progress.done} total={cohort.progress.total} cy="chestaid-calibration-progress" />
            <p role="status" aria-live="polite">
              {cohort.progress.total === 0
                ? `Finding the cohort's ${cohort.images} images in the data source…`
                : `Scoring ${cohort.images} images with the deployed model: ${cohort.progress.done} of ${cohort.progress.total} studies. ${etaText(cohort.progress.etaMs)}`}
            </p>
          </div>
        )}
        {cohort.status === 'ready' && (
          <div data-cy="chestaid-calibration-cohort" data-source={cohort.source} data-cases={cohort.cases.length} data-cancelled={cohort.cancelled}>
            <p>
              {cohort.cases.length} scored case(s) from {cohort.source === 'feedback' ? 'the recorded feedback' : 'the CSV'}
              {cohort.cancelled && ' — scoring was cancelled, nothing was fitted'}.
            </p>
            {cohort.notes.length > 0 && (
              <details>
                <summary>{cohort.notes.length} left out</summary>
                <ul className="text-xs">
                  {cohort.notes.map(n => (
                    <li key={n}>{n}</li>
                  ))}
                </ul>
              </details>
            )}
          </div>
        )}
        {cohort.status === 'error' && <ErrorLine cy="chestaid-calibration-cohort-error">{cohort.message}</ErrorLine>}
      </section>

      {fit.status === 'refused' && (
        <section style={SECTION} role="alert" data-cy="chestaid-calibration-refused">
          <h2 className="text-lg font-semibold text-red-500">Not fitted: the cohort cannot support a recalibration</h2>
          <ul>
            {fit.reasons.map(reason => (
              <li key={reason} data-cy="chestaid-calibration-refusal">
                {reason}
              </li>
            ))}
          </ul>
        </section>
      )}
      {fit.status === 'error' && <ErrorLine cy="chestaid-calibration-fit-error" style={SECTION}>{fit.message}</ErrorLine>}
      {fit.status === 'ready' && <Report report={fit.report} />}

      <section style={SECTION} aria-label="Change">
        <h2 className="text-lg font-semibold">2. Accept or roll back</h2>
        {who.kind === 'typed' && (
          <label className="flex items-center gap-2">
            Your name (recorded in the audit log)
            <input
              type="text"
              value={actor}
              onChange={event => setActor(event.target.value)}
              className="bg-muted rounded px-2 py-1"
              data-cy="chestaid-calibration-actor"
              autoComplete="name"
            />
          </label>
        )}
        {who.kind === 'login' && (
          <p data-cy="chestaid-calibration-actor-login" data-actor={who.name}>
            Recorded in the audit log as <strong>{who.name}</strong>, the logged-in user.
          </p>
        )}
        {who.kind === 'refused' && (
          <p role="alert" className="text-red-500" data-cy="chestaid-calibration-actor-refused">
            {who.reason}
          </p>
        )}
        {fit.status === 'ready' && (
          <button
            type="button"
            className={PRIMARY}
            style={{ marginTop: 8 }}
            disabled={!named || busy || !ready}
            onClick={() => void calibration.accept(typed)}
            data-cy="chestaid-calibration-accept"
            title={named ? 'Make this calibration and threshold the active version' : who.kind === 'refused' ? who.reason : 'Enter your name first'}
          >
            Accept as the new calibration version
          </button>
        )}
        {change.status === 'saving' && <p role="status">Writing to the audit log…</p>}
        {change.status === 'done' && (
          <p role="status" data-cy="chestaid-calibration-done" data-version={change.entry.version} data-action={change.entry.action}>
            {change.entry.action === 'accept' ? 'Accepted' : 'Rolled back'}: version {change.entry.version} is active (previous {change.entry.previousVersion}). Results
            scored under other versions are now marked stale.
          </p>
        )}
        {change.status === 'conflict' && (
          <div role="alert" className="text-red-500" data-cy="chestaid-calibration-conflict">
            <p>{change.message}</p>
            <button type="button" className={SECONDARY} onClick={() => void calibration.open()} data-cy="chestaid-calibration-reload">
              Reload the history
            </button>
          </div>
        )}
        {change.status === 'error' && <ErrorLine cy="chestaid-calibration-change-error">{change.message}</ErrorLine>}
        {who.kind === 'typed' && !named && <p className="text-xs text-muted-foreground">Enter your name to accept or roll back.</p>}
      </section>

      {ready && (
        <History
          entries={model.history.entries}
          active={model.history.active}
          versions={model.history.versions}
          busy={busy || !named}
          onRollback={version => void calibration.rollback(version, typed)}
        />
      )}
    </main>
  );
}
