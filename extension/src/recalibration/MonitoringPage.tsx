/**
 * The monitoring page (a custom route, an island of our React): true and false positives and
 * negatives at the active threshold per day or week from the readers' feedback, the running
 * sensitivity and specificity with 95 % intervals, the score distribution against the
 * manifest's training reference with its population stability index (a warning at 0.25 and
 * above), and the rows as a CSV download. Read-only; monitoringView.ts holds the rules.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';

import {
  type BucketSize,
  calibrationName,
  calibrationOrigin,
  type FeedbackEntry,
  type Manifest,
  type Proportion,
  PSI_MODERATE,
  PSI_WARNING,
} from '@chestaid/core';
import { downloadBlob } from '../heatmap/capture';
import { ColumnHeads, ErrorLine, LinkButton } from '../pageParts';
import { ScoreHistogram } from './Charts';
import { SyntheticNotice } from './RecalibrationPage';
import { RECALIBRATION_PATH } from './ids';
import { MIN_DRIFT_IMAGES, monitoringCsv, monitoringView } from './monitoringView';
import { calibrationLabelText } from '../i18n/calibration';
import { integer, maybeDecimal, maybePercent, number } from '../i18n/format';
import { t, tCount } from '../i18n/translate';

const CELL = { padding: '4px 8px', borderBottom: '1px solid rgba(255,255,255,0.08)', textAlign: 'left' } as const;

interface MonitoringData {
  readonly entries: readonly FeedbackEntry[];
  readonly active: Manifest;
  readonly base: Manifest;
  readonly modelSha256: string;
}

export interface MonitoringPageProps {
  readonly load: () => Promise<MonitoringData>;
  readonly navigate: (path: string) => void;
  /** Offers text as a file download (the browser's; a test passes its own). */
  readonly download?: (name: string, text: string) => void;
}

function browserDownload(name: string, text: string): void {
  downloadBlob(new Blob([text], { type: 'text/csv;charset=utf-8' }), name);
}

const DRIFT_LEVEL_KEYS = { stable: 'monitoring.level.stable', moderate: 'monitoring.level.moderate', significant: 'monitoring.level.significant' } as const;

function rate(p: Proportion): string {
  if (p.value === null) return t('monitoring.noCases');
  return t('monitoring.rate', { value: maybePercent(p.value), low: maybePercent(p.low), high: maybePercent(p.high), successes: integer(p.successes), total: integer(p.total) });
}

export function MonitoringPage({ load, navigate, download = browserDownload }: MonitoringPageProps) {
  const [data, setData] = useState<MonitoringData | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [bucket, setBucket] = useState<BucketSize>('day');
  const reload = useCallback(() => {
    setProblem(null);
    load().then(setData, error => setProblem(error instanceof Error ? error.message : String(error)));
  }, [load]);
  useEffect(reload, [reload]);

  // A bad reference distribution or feedback row is shown, not thrown into the host.
  const computed = useMemo(() => {
    if (!data) return { view: null, error: null };
    try {
      return { view: monitoringView({ ...data, bucket }), error: null };
    } catch (error) {
      return { view: null, error: error instanceof Error ? error.message : String(error) };
    }
  }, [data, bucket]);
  const view = computed.view;
  const shownProblem = problem ?? computed.error;

  const last = view?.summary.buckets[view.summary.buckets.length - 1];
  return (
    <main className="bg-background text-foreground text-sm" style={{ height: '100vh', overflow: 'auto', padding: 16, boxSizing: 'border-box' }} data-cy="chestaid-monitoring" aria-label={t('monitoring.label')}>
      <header className="flex flex-col gap-1">
        <h1 className="text-xl font-semibold">{t('monitoring.title')}</h1>
        <SyntheticNotice manifest={data?.active ?? null} />
        {data && view && (
          <p data-cy="chestaid-monitoring-active" data-version={calibrationName(view.activeVersion)} data-identity={view.activeVersion} data-threshold={view.threshold}>
            {t('monitoring.active', { calibration: calibrationLabelText(calibrationOrigin(data.active)), threshold: maybePercent(view.threshold) })}{' '}
            {tCount('monitoring.labels', view.rows.length)}
            {view.otherModel > 0 && `, ${tCount('monitoring.otherModel', view.otherModel)}`}.
          </p>
        )}
        {shownProblem && <ErrorLine cy="chestaid-monitoring-error">{shownProblem}</ErrorLine>}
        <nav className="flex gap-4">
          <LinkButton onClick={() => navigate('/')}>
            {t('triage.studyList')}
          </LinkButton>
          <LinkButton onClick={() => navigate(RECALIBRATION_PATH)}>
            {t('triage.recalibration')}
          </LinkButton>
          <LinkButton onClick={reload} cy="chestaid-monitoring-reload">{t('monitoring.reload')}</LinkButton>
        </nav>
      </header>

      {view && (
        <>
          <section style={{ marginTop: 16 }} aria-label={t('monitoring.errors')}>
            <h2 className="text-lg font-semibold">{t('monitoring.outcomes')}</h2>
            <div className="flex gap-2 items-center" role="group" aria-label={t('monitoring.period')}>
              {(['day', 'week'] as const).map(b => (
                <button
                  key={b}
                  type="button"
                  aria-pressed={bucket === b}
                  className={`rounded px-3 py-1 ${bucket === b ? 'bg-primary text-primary-foreground' : 'bg-secondary text-secondary-foreground'}`}
                  onClick={() => setBucket(b)}
                  data-cy={`chestaid-monitoring-bucket-${b}`}
                >
                  {t(b === 'day' ? 'monitoring.perDay' : 'monitoring.perWeek')}
                </button>
              ))}
              <button
                type="button"
                className="rounded px-3 py-1 bg-secondary text-secondary-foreground"
                style={{ marginLeft: 16 }}
                onClick={() => download(`chestaid-feedback-${new Date().toISOString().slice(0, 10)}.csv`, monitoringCsv(view))}
                disabled={view.rows.length === 0}
                data-cy="chestaid-monitoring-export"
              >
                {t('monitoring.export')}
              </button>
            </div>
            {last && (
              <p data-cy="chestaid-monitoring-running">
                {t('monitoring.running', { sensitivity: rate(last.cumulativeSensitivity), specificity: rate(last.cumulativeSpecificity) })}
              </p>
            )}
            <table style={{ borderCollapse: 'collapse', marginTop: 8 }} data-cy="chestaid-monitoring-table">
              <ColumnHeads columns={[
                  t(view.summary.bucket === 'day' ? 'monitoring.column.day' : 'monitoring.column.week'),
                  t('outcome.tp'),
                  t('outcome.fp'),
                  t('outcome.tn'),
                  t('outcome.fn'),
                  t('monitoring.column.unsure'),
                  t('monitoring.column.sensitivity'),
                  t('monitoring.column.specificity'),
                ]} cellStyle={CELL} />
              <tbody>
                {view.summary.buckets.length === 0 && (
                  <tr>
                    <td colSpan={8} style={CELL}>
                      {t('monitoring.noFeedback')}
                    </td>
                  </tr>
                )}
                {view.summary.buckets.map(b => (
                  <tr key={b.start} data-cy="chestaid-monitoring-bucket" data-start={b.start} data-tp={b.tp} data-fp={b.fp} data-tn={b.tn} data-fn={b.fn}>
                    <th style={CELL} scope="row">
                      {b.start}
                    </th>
                    <td style={CELL}>{b.tp}</td>
                    <td style={CELL}>{b.fp}</td>
                    <td style={CELL}>{b.tn}</td>
                    <td style={CELL}>{b.fn}</td>
                    <td style={CELL}>{b.unsure}</td>
                    <td style={CELL}>{rate(b.cumulativeSensitivity)}</td>
                    <td style={CELL}>{rate(b.cumulativeSpecificity)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section style={{ marginTop: 16 }} aria-label={t('monitoring.drift')}>
            <h2 className="text-lg font-semibold">{t('monitoring.distribution')}</h2>
            {view.driftProblem && <p data-cy="chestaid-monitoring-drift-none">{t(view.driftProblem)}</p>}
            {view.drift && (
              <>
                <p data-cy="chestaid-monitoring-psi" data-psi={view.drift.psi} data-level={view.drift.level}>
                  {t('monitoring.psi', {
                    psi: maybeDecimal(view.drift.psi),
                    images: tCount('monitoring.images', view.drift.n),
                    level: t(DRIFT_LEVEL_KEYS[view.drift.level]),
                    moderate: number(PSI_MODERATE),
                    warning: number(PSI_WARNING),
                    split: data?.base.reference_distribution?.split ?? '–',
                    referenceN: integer(view.drift.referenceN),
                  })}
                </p>
                {view.drift.warn && (
                  <p role="alert" className="text-red-500 font-semibold" data-cy="chestaid-monitoring-drift-warning">
                    {t('monitoring.warning', { psi: maybeDecimal(view.drift.psi), warning: number(PSI_WARNING) })}
                  </p>
                )}
                {view.drift.n < 100 && (
                  <p className="text-xs text-muted-foreground" data-cy="chestaid-monitoring-drift-few">
                    {t('monitoring.few')}
                    {view.drift.n < MIN_DRIFT_IMAGES && ` ${t('monitoring.noWarningBelow', { min: integer(MIN_DRIFT_IMAGES) })}`}
                  </p>
                )}
                <ScoreHistogram
                  edges={view.drift.edges}
                  reference={view.drift.referenceFractions}
                  observed={view.drift.observedFractions}
                  title={t('monitoring.histogram')}
                  cy="chestaid-monitoring-histogram"
                />
              </>
            )}
          </section>
        </>
      )}
    </main>
  );
}
