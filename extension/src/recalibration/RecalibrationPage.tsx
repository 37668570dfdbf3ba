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
  calibrationOrigin,
  type Confusion,
  type Manifest,
  type MethodEvaluation,
  type RecalibrationReport,
} from '@chestaid/core';
import { ColumnHeads, ErrorLine, LinkButton, ProgressBar } from '../pageParts';
import { useServiceState } from '../triage/RiskColumn';
import { AFTER_COLOUR, BEFORE_COLOUR, ReliabilityDiagram, RocChart } from './Charts';
import type { RecalibrationService } from './RecalibrationService';
import { MONITORING_PATH } from './ids';
import type { Key } from '../i18n/en';
import { calibrationLabelText } from '../i18n/calibration';
import { integer, maybeDecimal, maybePercent, utcDateTime } from '../i18n/format';
import { t, tCount } from '../i18n/translate';
import { durationText } from '../triage/format';

const LOG_COLUMN_KEYS = ['recal.log.when', 'recal.log.who', 'recal.log.action', 'recal.log.version', 'recal.log.previous', 'recal.log.cohort', 'recal.log.method', 'recal.log.threshold', 'recal.log.ece'] as const;

const BUTTON = 'rounded px-3 py-1 font-semibold';
const PRIMARY = `${BUTTON} bg-primary text-primary-foreground`;
const SECONDARY = `${BUTTON} bg-secondary text-secondary-foreground`;
const CELL = { padding: '4px 8px', borderBottom: '1px solid rgba(255,255,255,0.08)', textAlign: 'left', verticalAlign: 'top' } as const;
const SECTION = { marginTop: 16 } as const;

const METHOD_KEYS: Readonly<Record<string, Key>> = {
  none: 'method.none',
  temperature: 'calibration.method.temperature',
  platt: 'calibration.method.platt',
  isotonic: 'calibration.method.isotonic',
  current: 'method.current',
};

/** A calibration method in words; an unknown one by its name. */
function methodName(method: string): string {
  const key = METHOD_KEYS[method];
  return key ? t(key) : method;
}

const percent = (value: number | null | undefined, decimals = 1) => maybePercent(value, decimals);
const decimal = (value: number | null | undefined) => maybeDecimal(value, 3);

/** "62.0% (95% CI 55.0% to 70.0%)", or without the interval when a bound is unknown. */
function withInterval(value: number | null, low: number | null, high: number | null, level = 0.95): string {
  if (value === null) return '–';
  if (low === null || high === null) return percent(value);
  return t('recal.interval', { value: percent(value), level: percent(level, 0), low: percent(low), high: percent(high) });
}

export interface RecalibrationPageProps {
  readonly calibration: Pick<RecalibrationService, 'EVENTS' | 'getState' | 'subscribe' | 'open' | 'useFeedback' | 'useCsv' | 'cancel' | 'accept' | 'rollback' | 'actor'>;
  readonly navigate: (path: string) => void;
}

export function SyntheticNotice({ manifest }: { manifest: Manifest | null }) {
  if (!manifest || (manifest.data as { synthetic?: boolean } | undefined)?.synthetic !== true) return null;
  return (
    <p className="text-red-600 font-semibold" data-cy="chestaid-synthetic">
      {t('recal.synthetic')}
    </p>
  );
}

function ConfusionMatrix({ confusion, threshold, cy }: { confusion: Confusion; threshold: number; cy: string }) {
  return (
    <table style={{ borderCollapse: 'collapse' }} data-cy={cy} data-tp={confusion.tp} data-fp={confusion.fp} data-tn={confusion.tn} data-fn={confusion.fn}>
      <caption className="text-xs text-muted-foreground" style={{ textAlign: 'left' }}>
        {t('recal.confusion', { threshold: percent(threshold) })}
      </caption>
      <thead>
        <tr>
          <th style={CELL} scope="col" />
          <th style={CELL} scope="col">
            {t('recal.truthPneumonia')}
          </th>
          <th style={CELL} scope="col">
            {t('recal.truthNormal')}
          </th>
        </tr>
      </thead>
      <tbody>
        <tr>
          <th style={CELL} scope="row">
            {t('recal.flagged')}
          </th>
          <td style={CELL}>{t('outcome.tp')} {confusion.tp}</td>
          <td style={CELL}>{t('outcome.fp')} {confusion.fp}</td>
        </tr>
        <tr>
          <th style={CELL} scope="row">
            {t('recal.notFlagged')}
          </th>
          <td style={CELL}>{t('outcome.fn')} {confusion.fn}</td>
          <td style={CELL}>{t('outcome.tn')} {confusion.tn}</td>
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
        <dt>{t('recal.eceHeldOut')}</dt>
        <dd data-cy={`chestaid-calibration-${which}-ece`} data-value={evaluation.metrics.ece}>
          {decimal(evaluation.metrics.ece)}
        </dd>
        <dt>{t('recal.brierHeldOut')}</dt>
        <dd data-cy={`chestaid-calibration-${which}-brier`} data-value={evaluation.metrics.brier}>
          {decimal(evaluation.metrics.brier)}
        </dd>
        <dt>{t('recal.threshold')}</dt>
        <dd data-cy={`chestaid-calibration-${which}-threshold`} data-value={threshold}>
          {thresholdText}
        </dd>
      </dl>
      <div className="flex flex-wrap gap-2">
        <ReliabilityDiagram bins={evaluation.reliability} title={t(which === 'before' ? 'recal.reliabilityBefore' : 'recal.reliabilityAfter')} colour={colour} cy={`chestaid-reliability-${which}`} />
        <RocChart
          points={evaluation.roc.points}
          auc={evaluation.roc.auc}
          title={t(which === 'before' ? 'recal.rocBefore' : 'recal.rocAfter')}
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
  const th = report.threshold;
  return (
    <section style={SECTION} aria-label={t('recal.result')} data-cy="chestaid-calibration-report" data-selected={report.selected}>
      <h2 className="text-lg font-semibold">{t('recal.resultTitle')}</h2>
      <p className="text-sm">
        {t('recal.cohortLine', { n: integer(report.cohort.n), pos: integer(report.cohort.nPos), neg: integer(report.cohort.nNeg) })}{' '}
        {report.scheme.description}. {t('recal.chosen')} <strong>{methodName(report.selected)}</strong> {t('recal.chosenWhy')}
        {' '}
        {t('recal.proof', { flagged: integer(th.proof.flaggedPositives), pos: integer(th.proof.nPos), bound: percent(th.proof.lowerBound) })}
        {!report.improvesOnCurrent && (
          <strong className="text-yellow-500" data-cy="chestaid-calibration-no-gain">
            {' '}
            {t('recal.noGain')}
          </strong>
        )}
      </p>
      <table style={{ borderCollapse: 'collapse', marginTop: 8 }} className="text-sm" data-cy="chestaid-calibration-candidates">
        <caption className="text-xs text-muted-foreground" style={{ textAlign: 'left' }}>
          {t('recal.candidates')}
        </caption>
        <ColumnHeads columns={[t('recal.column.method'), 'ECE', 'Brier', t('recal.column.logLoss'), 'ROC AUC']} cellStyle={CELL} />
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
          title={t('recal.before')}
          method={report.before.method}
          evaluation={report.before.heldOut}
          confusion={report.before.confusion}
          threshold={report.before.threshold}
          thresholdText={percent(report.before.threshold)}
        />
        <Side
          which="after"
          title={t('recal.after')}
          method={report.after.method}
          evaluation={report.after.heldOut}
          confusion={report.after.confusion}
          threshold={report.after.threshold}
          thresholdText={withInterval(th.threshold.value, th.threshold.low, th.threshold.high, th.bootstrap.level)}
        />
      </div>
      <p className="text-xs text-muted-foreground" style={{ marginTop: 8 }}>
        {t('recal.newThreshold', {
          rule: th.rule,
          target: percent(th.targetSensitivity, 0),
          sensitivity: withInterval(th.sensitivity.value, th.sensitivity.low, th.sensitivity.high, th.bootstrap.level),
          specificity: withInterval(th.specificity.value, th.specificity.low, th.specificity.high, th.bootstrap.level),
          replicates: integer(th.bootstrap.nBoot),
        })}
      </p>
      {report.warnings.length > 0 && (
        <details className="text-xs" style={{ marginTop: 4 }}>
          <summary>{tCount('recal.notes', report.warnings.length)}</summary>
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
    <section style={SECTION} aria-label={t('recal.history')} data-cy="chestaid-calibration-history">
      <h2 className="text-lg font-semibold">{t('recal.versions')}</h2>
      <ul className="text-sm flex flex-col gap-1">
        {versions.map(version => (
          <li key={version} data-cy="chestaid-calibration-version" data-version={version} data-active={version === active}>
            {version}
            {version === active ? (
              <strong> ({t('recal.active')})</strong>
            ) : (
              <button type="button" className={SECONDARY} style={{ marginLeft: 8 }} disabled={busy} onClick={() => onRollback(version)} data-cy="chestaid-calibration-rollback">
                {t('recal.rollbackTo', { version })}
              </button>
            )}
          </li>
        ))}
      </ul>
      <table style={{ borderCollapse: 'collapse', marginTop: 8, width: '100%' }} className="text-xs" data-cy="chestaid-calibration-log">
        <caption className="text-muted-foreground" style={{ textAlign: 'left' }}>
          {t('recal.auditLog')}
        </caption>
        <ColumnHeads columns={['#', ...LOG_COLUMN_KEYS.map(key => t(key)), 'hash']} cellStyle={CELL} />
        <tbody>
          {entries.length === 0 && (
            <tr>
              <td style={CELL} colSpan={11}>
                {t('recal.noChange')}
              </td>
            </tr>
          )}
          {entries.map(e => (
            <tr key={e.seq} data-cy="chestaid-calibration-log-entry" data-action={e.action} data-version={e.version}>
              <td style={CELL}>{e.seq}</td>
              <td style={CELL}>{utcDateTime(e.at)}</td>
              <td style={CELL}>{e.actor}</td>
              <td style={CELL}>{t(e.action === 'accept' ? 'recal.action.accept' : 'recal.action.rollback')}</td>
              <td style={CELL}>{e.version}</td>
              <td style={CELL}>{e.previousVersion}</td>
              <td style={CELL}>{e.cohort ? `${integer(e.cohort.n)} (sha256 ${e.cohort.sha256.slice(0, 12)}…)` : '–'}</td>
              <td style={CELL}>{e.method ? methodName(e.method) : '–'}</td>
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
    <main className="bg-background text-foreground text-sm" style={{ height: '100vh', overflow: 'auto', padding: 16, boxSizing: 'border-box' }} data-cy="chestaid-calibration" aria-label={t('recal.label')}>
      <header className="flex flex-col gap-1">
        <h1 className="text-xl font-semibold">{t('recal.title')}</h1>
        <SyntheticNotice manifest={ready ? model.active : null} />
        {ready && (
          <p data-cy="chestaid-calibration-active" data-version={model.history.active}>
            {t('recal.activeLine', {
              model: t('panel.model', { id: model.active.model.id, version: model.active.model.version, sha: model.modelSha256.slice(0, 12) }),
              calibration: calibrationLabelText(calibrationOrigin(model.active)),
              method: methodName(model.active.calibration.selected),
              threshold: percent(model.active.thresholds.clinical.value),
            })}
          </p>
        )}
        {model.status === 'error' && <ErrorLine cy="chestaid-calibration-error">{model.message}</ErrorLine>}
        <nav className="flex gap-4">
          <LinkButton onClick={() => navigate('/')}>
            {t('triage.studyList')}
          </LinkButton>
          <LinkButton onClick={() => navigate(MONITORING_PATH)}>
            {t('triage.monitoring')}
          </LinkButton>
        </nav>
      </header>

      <section style={SECTION} aria-label={t('recal.cohort')}>
        <h2 className="text-lg font-semibold">{t('recal.step1')}</h2>
        <p className="text-xs text-muted-foreground">
          {t('recal.cohortRule')}
        </p>
        <div className="flex flex-wrap items-center gap-3" style={{ marginTop: 6 }}>
          <button type="button" className={PRIMARY} disabled={!ready || busy} onClick={() => void calibration.useFeedback()} data-cy="chestaid-calibration-use-feedback">
            {t('recal.useFeedback')}
          </button>
          <label className={SECONDARY} style={{ cursor: ready && !busy ? 'pointer' : 'not-allowed' }}>
            {t('recal.csv')}
            <input type="file" accept=".csv,text/csv" style={{ display: 'none' }} disabled={!ready || busy} onChange={onFile} data-cy="chestaid-calibration-csv" />
          </label>
          {scoring && (
            <button type="button" className={SECONDARY} onClick={() => calibration.cancel()} data-cy="chestaid-calibration-cancel">
              {t('common.cancel')}
            </button>
          )}
        </div>
        {scoring && (
          <div style={{ marginTop: 8 }}>
            <ProgressBar label={t('recal.scoring')} done={cohort.progress.done} total={cohort.progress.total} cy="chestaid-calibration-progress" />
            <p role="status" aria-live="polite">
              {cohort.progress.total === 0
                ? t('recal.finding', { images: integer(cohort.images) })
                : `${t('recal.scoringProgress', { images: integer(cohort.images), done: integer(cohort.progress.done), total: integer(cohort.progress.total) })} ${cohort.progress.etaMs === null ? '' : t('triageBatch.left', { duration: durationText(cohort.progress.etaMs) })}`}
            </p>
          </div>
        )}
        {cohort.status === 'ready' && (
          <div data-cy="chestaid-calibration-cohort" data-source={cohort.source} data-cases={cohort.cases.length} data-cancelled={cohort.cancelled}>
            <p>
              {tCount(cohort.source === 'feedback' ? 'recal.casesFeedback' : 'recal.casesCsv', cohort.cases.length)}
              {cohort.cancelled && ` — ${t('recal.cancelled')}`}.
            </p>
            {cohort.notes.length > 0 && (
              <details>
                <summary>{t('recal.leftOut', { count: integer(cohort.notes.length) })}</summary>
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
          <h2 className="text-lg font-semibold text-red-500">{t('recal.refused')}</h2>
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

      <section style={SECTION} aria-label={t('recal.change')}>
        <h2 className="text-lg font-semibold">{t('recal.step2')}</h2>
        {who.kind === 'typed' && (
          <label className="flex items-center gap-2">
            {t('recal.name')}
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
            {t('recal.actorLogin')} <strong>{who.name}</strong>
            {t('recal.actorLoginAfter')}
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
            title={named ? t('recal.acceptTitle') : who.kind === 'refused' ? who.reason : t('recal.nameFirst')}
          >
            {t('recal.accept')}
          </button>
        )}
        {change.status === 'saving' && <p role="status">{t('recal.writing')}</p>}
        {change.status === 'done' && (
          <p role="status" data-cy="chestaid-calibration-done" data-version={change.entry.version} data-action={change.entry.action}>
            {t(change.entry.action === 'accept' ? 'recal.accepted' : 'recal.rolledBack', { version: change.entry.version, previous: change.entry.previousVersion })}
          </p>
        )}
        {change.status === 'conflict' && (
          <div role="alert" className="text-red-500" data-cy="chestaid-calibration-conflict">
            <p>{change.message}</p>
            <button type="button" className={SECONDARY} onClick={() => void calibration.open()} data-cy="chestaid-calibration-reload">
              {t('recal.reloadHistory')}
            </button>
          </div>
        )}
        {change.status === 'error' && <ErrorLine cy="chestaid-calibration-change-error">{change.message}</ErrorLine>}
        {who.kind === 'typed' && !named && <p className="text-xs text-muted-foreground">{t('recal.enterName')}</p>}
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
