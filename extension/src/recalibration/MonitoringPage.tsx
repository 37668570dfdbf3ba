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
  calibrationLabel,
  calibrationName,
  calibrationOrigin,
  decimal,
  type FeedbackEntry,
  type Manifest,
  percent,
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

function rate(p: Proportion): string {
  if (p.value === null) return `– (0 cases)`;
  return `${percent(p.value)} (95 % CI ${percent(p.low)} to ${percent(p.high)}; ${p.successes}/${p.total})`;
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
    <main className="bg-background text-foreground text-sm" style={{ height: '100vh', overflow: 'auto', padding: 16, boxSizing: 'border-box' }} data-cy="chestaid-monitoring" aria-label="ChestAid monitoring">
      <header className="flex flex-col gap-1">
        <h1 className="text-xl font-semibold">ChestAid monitoring: errors at the active threshold and score drift</h1>
        <SyntheticNotice manifest={data?.active ?? null} />
        {data && view && (
          <p data-cy="chestaid-monitoring-active" data-version={calibrationName(view.activeVersion)} data-identity={view.activeVersion} data-threshold={view.threshold}>
            Active {calibrationLabel(calibrationOrigin(data.active))}, threshold {percent(view.threshold)}. Each image&apos;s logit is re-scored
            under the active calibration; {view.rows.length} current label(s) from readers
            {view.otherModel > 0 && `, ${view.otherModel} about another model's results left out`}.
          </p>
        )}
        {shownProblem && <ErrorLine cy="chestaid-monitoring-error">{shownProblem}</ErrorLine>}
        <nav className="flex gap-4">
          <LinkButton onClick={() => navigate('/')}>
            Study list
          </LinkButton>
          <LinkButton onClick={() => navigate(RECALIBRATION_PATH)}>
            Recalibration
          </LinkButton>
          <LinkButton onClick={reload} cy="chestaid-monitoring-reload">Reload</LinkButton>
        </nav>
      </header>

      {view && (
        <>
          <section style={{ marginTop: 16 }} aria-label="Errors over time">
            <h2 className="text-lg font-semibold">Outcomes at the active threshold</h2>
            <div className="flex gap-2 items-center" role="group" aria-label="Period">
              {(['day', 'week'] as const).map(b => (
                <button
                  key={b}
                  type="button"
                  aria-pressed={bucket === b}
                  className={`rounded px-3 py-1 ${bucket === b ? 'bg-primary text-primary-foreground' : 'bg-secondary text-secondary-foreground'}`}
                  onClick={() => setBucket(b)}
                  data-cy={`chestaid-monitoring-bucket-${b}`}
                >
                  per {b}
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
                Export as CSV
              </button>
            </div>
            {last && (
              <p data-cy="chestaid-monitoring-running">
                Running sensitivity {rate(last.cumulativeSensitivity)}; specificity {rate(last.cumulativeSpecificity)} (Wilson intervals).
              </p>
            )}
            <table style={{ borderCollapse: 'collapse', marginTop: 8 }} data-cy="chestaid-monitoring-table">
              <ColumnHeads columns={[view.summary.bucket === 'day' ? 'day' : 'week from', 'TP', 'FP', 'TN', 'FN', 'unsure', 'running sensitivity', 'running specificity']} cellStyle={CELL} />
              <tbody>
                {view.summary.buckets.length === 0 && (
                  <tr>
                    <td colSpan={8} style={CELL}>
                      No feedback recorded yet: readers record the ground truth in the ChestAid panel after reading.
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

          <section style={{ marginTop: 16 }} aria-label="Score drift">
            <h2 className="text-lg font-semibold">Score distribution against the training reference</h2>
            {view.driftProblem && <p data-cy="chestaid-monitoring-drift-none">{view.driftProblem}</p>}
            {view.drift && (
              <>
                <p data-cy="chestaid-monitoring-psi" data-psi={view.drift.psi} data-level={view.drift.level}>
                  Population stability index {decimal(view.drift.psi)} over {view.drift.n} image(s) ({view.drift.level}; below {PSI_MODERATE} stable, {PSI_WARNING} or more a
                  significant shift). Scores under the training calibration, as the reference ({data?.base.reference_distribution?.split} split,{' '}
                  {view.drift.referenceN} images) was made.
                </p>
                {view.drift.warn && (
                  <p role="alert" className="text-red-500 font-semibold" data-cy="chestaid-monitoring-drift-warning">
                    Warning: the scores have shifted from the training reference (PSI {decimal(view.drift.psi)} ≥ {PSI_WARNING}). Check the scanner and protocol, and
                    consider recalibrating on a local cohort.
                  </p>
                )}
                {view.drift.n < 100 && (
                  <p className="text-xs text-muted-foreground" data-cy="chestaid-monitoring-drift-few">
                    Fewer than 100 images: the index is noisy.{view.drift.n < MIN_DRIFT_IMAGES && ` No warning is given below ${MIN_DRIFT_IMAGES} images.`}
                  </p>
                )}
                <ScoreHistogram
                  edges={view.drift.edges}
                  reference={view.drift.referenceFractions}
                  observed={view.drift.observedFractions}
                  title="Reference (outline) and feedback images (filled), fraction per score bin"
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
