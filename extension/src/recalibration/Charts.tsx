/**
 * The charts of the recalibration and monitoring pages as plain SVG (geometry in charts.ts). Each
 * has a title and a description for assistive technology (role="img", aria-labelledby) and the
 * numbers behind it in a <title> per mark, since a picture alone says nothing to a screen reader.
 */
import { useId, type ReactNode } from 'react';

import { DEFAULT_FRAME, histogramBars, reliabilityMarks, rocPath, UNIT_TICKS, xOf, yOf, type BinLike, type Frame } from './charts';
import { decimal, integer, percent } from '../i18n/format';
import { t } from '../i18n/translate';

const AXIS = 'rgba(255,255,255,0.55)';
const GRID = 'rgba(255,255,255,0.12)';
export const BEFORE_COLOUR = '#f59e0b';
export const AFTER_COLOUR = '#38bdf8';

const pct = (v: number) => percent(v, 0);

function Axes({ frame, xLabel, yLabel, yTicks = UNIT_TICKS, yTickText = pct }: { frame: Frame; xLabel: string; yLabel: string; yTicks?: readonly number[]; yTickText?: (v: number) => string }) {
  const top = yTicks[yTicks.length - 1] || 1;
  return (
    <g aria-hidden="true" fontSize={9} fill={AXIS}>
      {UNIT_TICKS.map(t => (
        <g key={`x${t}`}>
          <line x1={xOf(frame, t)} x2={xOf(frame, t)} y1={yOf(frame, 0)} y2={yOf(frame, 1)} stroke={GRID} />
          <text x={xOf(frame, t)} y={yOf(frame, 0) + 12} textAnchor="middle">
            {pct(t)}
          </text>
        </g>
      ))}
      {yTicks.map(t => (
        <g key={`y${t}`}>
          <line x1={xOf(frame, 0)} x2={xOf(frame, 1)} y1={yOf(frame, t, 0, top)} y2={yOf(frame, t, 0, top)} stroke={GRID} />
          <text x={xOf(frame, 0) - 4} y={yOf(frame, t, 0, top) + 3} textAnchor="end">
            {yTickText(t)}
          </text>
        </g>
      ))}
      <text x={(xOf(frame, 0) + xOf(frame, 1)) / 2} y={frame.height - 6} textAnchor="middle">
        {xLabel}
      </text>
      <text transform={`translate(10 ${(yOf(frame, 0) + yOf(frame, 1)) / 2}) rotate(-90)`} textAnchor="middle">
        {yLabel}
      </text>
    </g>
  );
}

function Figure({ title, description, children, cy, frame = DEFAULT_FRAME }: { title: string; description: string; children: ReactNode; cy: string; frame?: Frame }) {
  const id = useId();
  return (
    <figure style={{ margin: 0 }} data-cy={cy}>
      <svg width={frame.width} height={frame.height} viewBox={`0 0 ${frame.width} ${frame.height}`} role="img" aria-labelledby={`${id}-t ${id}-d`}>
        <title id={`${id}-t`}>{title}</title>
        <desc id={`${id}-d`}>{description}</desc>
        {children}
      </svg>
      <figcaption className="text-xs text-muted-foreground">{title}</figcaption>
    </figure>
  );
}

function binText(bin: BinLike): string {
  return t('chart.binCases', { count: integer(bin.count), mean: pct(bin.meanPredicted ?? 0), observed: pct(bin.observedFraction ?? 0) });
}

/** Observed fraction of pneumonia against the mean score per bin; the diagonal is perfect calibration. */
export function ReliabilityDiagram({ bins, title, colour, cy }: { bins: readonly BinLike[]; title: string; colour: string; cy: string }) {
  const frame = DEFAULT_FRAME;
  const marks = reliabilityMarks(frame, bins);
  const description = marks.length
    ? marks.map(m => `${pct(m.bin.lower)}–${pct(m.bin.upper)}: ${binText(m.bin)}`).join('; ')
    : t('chart.noCases');
  return (
    <Figure title={title} description={t('chart.reliability', { description })} cy={cy}>
      <Axes frame={frame} xLabel={t('chart.meanScore')} yLabel={t('chart.observed')} />
      <line x1={xOf(frame, 0)} y1={yOf(frame, 0)} x2={xOf(frame, 1)} y2={yOf(frame, 1)} stroke={AXIS} strokeDasharray="4 3" />
      {marks.map(m => (
        <circle key={m.bin.lower} cx={m.cx} cy={m.cy} r={m.radius} fill={colour} fillOpacity={0.75} data-cy="chestaid-reliability-bin">
          <title>{binText(m.bin)}</title>
        </circle>
      ))}
    </Figure>
  );
}

export function RocChart({ points, auc, title, colour, cy, operating }: { points: readonly { fpr: number; tpr: number }[]; auc: number; title: string; colour: string; cy: string; operating?: { fpr: number; tpr: number } | null }) {
  const frame = DEFAULT_FRAME;
  return (
    <Figure title={`${title} (AUC ${decimal(auc, 3)})`} description={t('chart.roc', { points: integer(points.length), auc: decimal(auc, 3) })} cy={cy}>
      <Axes frame={frame} xLabel={t('chart.fpr')} yLabel={t('chart.sensitivity')} />
      <line x1={xOf(frame, 0)} y1={yOf(frame, 0)} x2={xOf(frame, 1)} y2={yOf(frame, 1)} stroke={AXIS} strokeDasharray="4 3" />
      <path d={rocPath(frame, points)} fill="none" stroke={colour} strokeWidth={2} />
      {operating && (
        <circle cx={xOf(frame, operating.fpr)} cy={yOf(frame, operating.tpr)} r={4} fill="white" stroke={colour} strokeWidth={2}>
          <title>{t('chart.operating', { sensitivity: pct(operating.tpr), fpr: pct(operating.fpr) })}</title>
        </circle>
      )}
    </Figure>
  );
}

/** Two histograms on one scale: the reference (outline) and the observed scores (filled). */
export function ScoreHistogram({ edges, reference, observed, title, cy }: { edges: readonly number[]; reference: readonly number[]; observed: readonly number[]; title: string; cy: string }) {
  const frame: Frame = { ...DEFAULT_FRAME, width: 360, margin: { ...DEFAULT_FRAME.margin, right: 18 } };
  const top = Math.max(0.01, ...reference, ...observed);
  const ticks = [0, top / 2, top];
  const observedBars = histogramBars(frame, edges, observed, top);
  const referenceBars = histogramBars(frame, edges, reference, top);
  const description = edges
    .slice(0, -1)
    .map((e, i) => `${pct(e)}–${pct(edges[i + 1])}: ${t('chart.bin', { reference: pct(reference[i]), observed: pct(observed[i]) })}`)
    .join('; ');
  return (
    <Figure title={title} description={t('chart.distribution', { description })} cy={cy} frame={frame}>
      <Axes frame={frame} xLabel={t('chart.calibratedScore')} yLabel={t('chart.fraction')} yTicks={ticks} />
      {observedBars.map(b => (
        <rect key={`o${b.x}`} x={b.x + 1} y={b.y} width={Math.max(0, b.width - 2)} height={b.height} fill={AFTER_COLOUR} fillOpacity={0.6} />
      ))}
      {referenceBars.map(b => (
        <rect key={`r${b.x}`} x={b.x + 1} y={b.y} width={Math.max(0, b.width - 2)} height={b.height} fill="none" stroke={BEFORE_COLOUR} strokeWidth={1.5} />
      ))}
    </Figure>
  );
}
