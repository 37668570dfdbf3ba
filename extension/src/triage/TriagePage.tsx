/**
 * The triage page (a custom route of the viewer, an island of our React): the studies with
 * CR/DX images sorted by risk, highest first, every study of the list visible in a group that
 * says why it is where it is, the usual date order one click away, and "Analyze all" with its
 * progress and cancel. It shows what TriageService and ChestAidService announce and asks them to
 * act; the only state it holds is which rows are on screen while the pointer is over the list
 * (rows.ts).
 */
import { useEffect, useMemo, useState, type KeyboardEvent } from 'react';

import { RECALIBRATION_PATH, MONITORING_PATH } from '../recalibration/ids';
import { calibrationName, orderByDate, orderByRisk } from '@chestaid/core';
import type { ChestAidStateSource } from '../panels/types';
import { ColumnHeads, ErrorLine, LinkButton, ProgressBar } from '../pageParts';
import { calibrationText, modelText, operatingPointOf, progressText, scoreAndThreshold, versionName } from '../panels/format';
import { archivingText, batchText, groupTitle, riskText, studyDateText } from './format';
import { studyLink } from './links';
import { TONE_COLOURS, useServiceState, type TriageStateSource } from './RiskColumn';
import { rowsToShow, sameRows, type ShownRow } from './rows';
import { entriesIn, type TriageOrder } from './TriageService';
import { integer } from '../i18n/format';
import { t } from '../i18n/translate';

const COLUMN_KEYS = ['column.risk', 'column.calibration', 'column.patient', 'column.mrn', 'column.date', 'column.description', 'column.modalities'] as const;

export interface TriagePageService extends TriageStateSource {
  open(): Promise<void>;
  analyzeAll(): Promise<void>;
  cancel(): void;
  setOrder(order: TriageOrder): void;
  canArchive(): boolean;
  setArchiving(enabled: boolean): void;
}

export interface TriagePageProps {
  readonly triage: TriagePageService;
  readonly chestAid: ChestAidStateSource;
  /** Goes to a path of the viewer (OHIF's navigateHistory). */
  readonly navigate: (path: string) => void;
}

const BUTTON = 'rounded px-3 py-1 font-semibold';
const CELL = { padding: '6px 8px', borderBottom: '1px solid rgba(255,255,255,0.08)', verticalAlign: 'top' } as const;

function OrderButton({ order, value, label, onPick }: { order: TriageOrder; value: TriageOrder; label: string; onPick: (o: TriageOrder) => void }) {
  const pressed = order === value;
  return (
    <button
      type="button"
      aria-pressed={pressed}
      className={`${BUTTON} ${pressed ? 'bg-primary text-primary-foreground' : 'bg-secondary text-secondary-foreground'}`}
      onClick={() => onPick(value)}
      data-cy={`chestaid-triage-order-${value}`}
    >
      {label}
    </button>
  );
}

export function TriagePage({ triage, chestAid, navigate }: TriagePageProps) {
  const state = useServiceState(triage);
  const chestAidState = useServiceState(chestAid);
  useEffect(() => {
    triage.open().catch(error => console.warn('ChestAid triage could not open', error));
  }, [triage]);

  const threshold = chestAidState.threshold?.value ?? null;
  const point = threshold === null ? null : operatingPointOf(chestAid.getManifest?.() ?? null, threshold);
  // Every current score on the page is under the active calibration (others are stale): its version and origin.
  const judgedBy = state.model.status === 'ready' ? state.model.identity.calibrationVersion : null;
  const chestAidInfo = chestAidState.model.status === 'ready' ? chestAidState.model.info : null;
  const calibration = judgedBy === null ? null : { version: judgedBy, label: chestAidInfo?.calibrationVersion === judgedBy ? chestAidInfo.calibrationLabel : t('images.calibration', { version: versionName(judgedBy) }) };
  const entries = useMemo(() => entriesIn(state), [state]);
  const byId = useMemo(() => new Map((entries ?? []).map(entry => [entry.studyInstanceUID, entry])), [entries]);
  const next: ShownRow[] = useMemo(
    () => (entries ? (state.order === 'risk' ? orderByRisk(entries) : orderByDate(entries)) : []).map(e => ({ id: e.studyInstanceUID, group: e.status.kind })),
    [entries, state.order],
  );

  // Rows hold still while the pointer is over the list or keyboard focus is in it (rows.ts).
  const [pointerInside, setPointerInside] = useState(false);
  const [focusInside, setFocusInside] = useState(false);
  const [shown, setShown] = useState<ShownRow[]>([]);
  const [shownOrder, setShownOrder] = useState(state.order);
  // A new order chosen by the reader applies at once.
  const hold = (pointerInside || focusInside) && shownOrder === state.order;
  const rows = rowsToShow(shown, next, hold);
  useEffect(() => {
    if (!sameRows(rows, shown)) setShown(rows);
    if (shownOrder !== state.order) setShownOrder(state.order);
  });
  const waiting = hold && !sameRows(rows, next);
  const counts = new Map<string, number>();
  rows.forEach(row => counts.set(row.group, (counts.get(row.group) ?? 0) + 1));

  const { batch, model, list } = state;
  const running = batch.status === 'running';
  const ready = model.status === 'ready' && list.status === 'ready' && entries !== null;
  const info = chestAidState.model.status === 'ready' ? chestAidState.model.info : null;
  const line = batchText(batch);
  const open = (id: string) => navigate(studyLink(id, byId.get(id)?.status ?? null));
  const onKey = (id: string) => (event: KeyboardEvent) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      open(id);
    }
  };

  return (
    <main
      className="bg-background text-foreground text-sm"
      style={{ height: '100vh', overflow: 'auto', padding: 16, boxSizing: 'border-box' }}
      data-cy="chestaid-triage"
      aria-label={t('triage.label')}
    >
      <header className="flex flex-col gap-1" style={{ marginBottom: 12 }}>
        <h1 className="text-xl font-semibold">{t('triage.title')}</h1>
        <p className="font-semibold" data-cy="chestaid-triage-disclaimer">
          {t('triage.disclaimer')}
        </p>
        {info?.synthetic && (
          <p className="text-red-600 font-semibold" data-cy="chestaid-triage-synthetic">
            {t('panel.synthetic')}
          </p>
        )}
        {info && (
          <p className="text-muted-foreground text-xs" data-cy="chestaid-triage-model">
            {modelText(info)} · {calibrationText(info)}
            {threshold !== null && ` · ${t(chestAidState.threshold?.custom ? 'triage.thresholdCustom' : 'triage.threshold', { threshold: scoreAndThreshold(threshold, threshold).threshold })}`}
          </p>
        )}
        {model.status === 'error' && <ErrorLine cy="chestaid-triage-error">{model.message}</ErrorLine>}
        {list.status === 'error' && <ErrorLine cy="chestaid-triage-error">{list.message}</ErrorLine>}
        {state.shared.status === 'error' && <ErrorLine cy="chestaid-triage-shared-error">{state.shared.message}</ErrorLine>}
      </header>

      <section className="flex flex-wrap items-center gap-2" style={{ marginBottom: 8 }} aria-label={t('triage.actions')}>
        <button
          type="button"
          className={`${BUTTON} bg-primary text-primary-foreground`}
          style={ready && !running ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
          disabled={!ready || running}
          onClick={() => void triage.analyzeAll()}
          title={t('triage.analyzeAllTitle')}
          data-cy="chestaid-triage-analyze-all"
        >
          {t('triage.analyzeAll')}
        </button>
        {triage.canArchive() && (
          <label className="flex items-center gap-1 text-xs" title={t('triage.savePacsTitle')}>
            <input
              type="checkbox"
              checked={state.archiving.enabled}
              disabled={running}
              onChange={event => triage.setArchiving(event.target.checked)}
              data-cy="chestaid-triage-save-pacs"
            />
            {t('triage.savePacs')}
          </label>
        )}
        {running && (
          <button type="button" className={`${BUTTON} bg-secondary text-secondary-foreground`} onClick={() => triage.cancel()} data-cy="chestaid-triage-cancel">
            {t('common.cancel')}
          </button>
        )}
        <span role="group" aria-label={t('triage.order')} className="flex gap-1" style={{ marginLeft: 16 }}>
          <OrderButton order={state.order} value="risk" label={t('triage.byRisk')} onPick={order => triage.setOrder(order)} />
          <OrderButton order={state.order} value="date" label={t('triage.byDate')} onPick={order => triage.setOrder(order)} />
        </span>
        <LinkButton style={{ marginLeft: 16 }} onClick={() => navigate('/')} cy="chestaid-triage-study-list">
          {t('triage.studyList')}
        </LinkButton>
        {[
          [RECALIBRATION_PATH, t('triage.recalibration')],
          [MONITORING_PATH, t('triage.monitoring')],
        ].map(([path, label]) => (
          <LinkButton key={path} style={{ marginLeft: 16 }} onClick={() => navigate(path)}>
            {label}
          </LinkButton>
        ))}
      </section>

      {/* Fixed heights: the list must not move when the bar, the lines or the notice come and go. */}
      <div style={{ height: 8 }}>
        {running && (
          <ProgressBar label={t('triage.analyzeAll')} done={batch.progress.done} total={batch.progress.total} valueText={line} cy="chestaid-triage-progress" />
        )}
      </div>
      <p
        role={batch.status === 'error' ? 'alert' : 'status'}
        aria-live="polite"
        className={batch.status === 'error' ? 'text-red-500' : undefined}
        style={{ height: '1.25rem', marginTop: 4, overflow: 'hidden', whiteSpace: 'nowrap', textOverflow: 'ellipsis' }}
        title={line}
        data-cy="chestaid-triage-batch"
        data-status={batch.status}
        data-analyzed={'summary' in batch ? batch.summary.analyzed : undefined}
        data-elapsed-ms={'summary' in batch ? Math.round(batch.summary.elapsedMs) : undefined}
        data-started-at={'summary' in batch ? batch.summary.startedAt : undefined}
        data-finished-at={'summary' in batch ? batch.summary.finishedAt : undefined}
      >
        {line}
      </p>
      {state.archiving.enabled && (
        <p
          className={state.archiving.failed ? 'text-red-500 text-xs' : 'text-muted-foreground text-xs'}
          style={{ overflowWrap: 'anywhere' }}
          data-cy="chestaid-triage-pacs"
          data-saved={state.archiving.saved}
          data-already={state.archiving.alreadySaved}
          data-failed={state.archiving.failed}
        >
          {archivingText(state.archiving)}
        </p>
      )}
      <p className="text-muted-foreground text-xs" style={{ height: '1.5rem', overflow: 'hidden' }} data-cy="chestaid-triage-held">
        {waiting ? (
          <>
            {t('triage.held')}{' '}
            <LinkButton onClick={() => setShown(next)}>
              {t('triage.updateNow')}
            </LinkButton>
          </>
        ) : (
          running && chestAidState.runtime.status === 'loading' && <span data-cy="chestaid-triage-runtime">{progressText(chestAidState.runtime)}</span>
        )}
      </p>

      {!ready && list.status !== 'error' && <p data-cy="chestaid-triage-loading">{t('triage.loading')}</p>}
      {ready && (
        <table
          style={{ width: '100%', borderCollapse: 'collapse' }}
          data-cy="chestaid-triage-list"
          data-order={state.order}
          onPointerEnter={() => setPointerInside(true)}
          onPointerLeave={() => setPointerInside(false)}
          onFocus={() => setFocusInside(true)}
          onBlur={event => setFocusInside(event.currentTarget.contains(event.relatedTarget as Node | null))}
        >
          <ColumnHeads columns={COLUMN_KEYS.map(key => t(key))} cellStyle={CELL} className="bg-muted text-left" />
          <tbody>
            {rows.map((row, index) => {
              const entry = byId.get(row.id);
              if (!entry) return null;
              const text = riskText(entry.status, threshold, point);
              const heading = state.order === 'risk' && (index === 0 || rows[index - 1].group !== row.group);
              return [
                heading && (
                  <tr key={`group-${row.group}`} data-cy="chestaid-triage-group" data-group={row.group}>
                    <th colSpan={7} scope="colgroup" className="text-muted-foreground text-left" style={{ ...CELL, paddingTop: 14 }}>
                      {groupTitle(row.group)} ({integer(counts.get(row.group) ?? 0)})
                    </th>
                  </tr>
                ),
                <tr
                  key={row.id}
                  tabIndex={0}
                  className="hover:bg-muted"
                  style={{ cursor: 'pointer' }}
                  onClick={() => open(row.id)}
                  onKeyDown={onKey(row.id)}
                  aria-label={t('triage.rowLabel', { patient: entry.study.patientName || t('triage.unnamed'), risk: text.label })}
                  data-cy="chestaid-triage-row"
                  data-study-uid={row.id}
                  data-group={row.group}
                  data-status={entry.status.kind}
                  data-probability={entry.status.kind === 'scored' ? entry.status.probability : undefined}
                  data-analyzed-at={entry.status.kind === 'scored' ? entry.status.analyzedAt : undefined}
                  data-date={`${entry.study.date}${entry.study.time}`}
                >
                  <td style={CELL} data-cy="chestaid-triage-risk">
                    <span style={{ color: TONE_COLOURS[text.tone], fontWeight: text.tone === 'above' ? 600 : undefined }}>{text.label}</span>
                    {text.detail && entry.status.kind !== 'scored' && (
                      <div className="text-muted-foreground text-xs" style={{ overflowWrap: 'anywhere' }} data-cy="chestaid-triage-reason">
                        {text.detail}
                      </div>
                    )}
                  </td>
                  <td style={CELL} className="text-muted-foreground text-xs" data-cy="chestaid-triage-calibration">
                    {entry.status.kind === 'scored' && calibration ? (
                      <span title={calibration.label} data-version={calibrationName(calibration.version)} data-identity={calibration.version}>
                        {versionName(calibration.version)}
                      </span>
                    ) : entry.status.kind === 'stale' ? (
                      <span data-version={calibrationName(entry.status.scoredBy.calibrationVersion)} data-identity={entry.status.scoredBy.calibrationVersion}>{versionName(entry.status.scoredBy.calibrationVersion)}</span>
                    ) : null}
                  </td>
                  <td style={CELL}>{entry.study.patientName}</td>
                  <td style={CELL}>{entry.study.mrn}</td>
                  <td style={CELL}>{studyDateText(entry.study.date, entry.study.time)}</td>
                  <td style={CELL}>{entry.study.description}</td>
                  <td style={CELL}>{entry.study.modalities}</td>
                </tr>,
              ];
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}
