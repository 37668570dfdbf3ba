/**
 * Markup the full-page views (triage worklist, recalibration, monitoring) repeat: a link-styled
 * button, an error line read out by screen readers, a progress bar and a table header row. One
 * place, so the pages keep looking and reading alike.
 */
import type { CSSProperties, ReactNode } from 'react';

const LINK_STYLE: CSSProperties = { textDecoration: 'underline' };

/** A button that looks like a link: the pages' navigation and small actions. */
export function LinkButton({ onClick, cy, style, children }: { onClick: () => void; cy?: string; style?: CSSProperties; children: ReactNode }) {
  return (
    <button type="button" className="text-primary" style={style ? { ...style, ...LINK_STYLE } : LINK_STYLE} onClick={onClick} data-cy={cy}>
      {children}
    </button>
  );
}

/** A failure the user must see: red, and announced (role "alert"). */
export function ErrorLine({ cy, style, children }: { cy: string; style?: CSSProperties; children: ReactNode }) {
  return (
    <p className="text-red-500" role="alert" data-cy={cy} style={style}>
      {children}
    </p>
  );
}

/** A determinate progress bar; `done` and `total` are also data attributes, for the e2e tests. */
export function ProgressBar({ label, done, total, valueText, cy }: { label: string; done: number; total: number; valueText?: string; cy: string }) {
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      aria-valuetext={valueText}
      className="bg-muted h-2 w-full overflow-hidden rounded"
      data-cy={cy}
      data-done={done}
      data-total={total}
    >
      <div className="bg-primary h-2" style={{ width: `${(done / Math.max(1, total)) * 100}%` }} />
    </div>
  );
}

/** A table's header row: one column header (scope "col") per name, each cell styled as the table's. */
export function ColumnHeads({ columns, cellStyle, className }: { columns: readonly string[]; cellStyle: CSSProperties; className?: string }) {
  return (
    <thead>
      <tr className={className}>
        {columns.map(name => (
          <th key={name} style={cellStyle} scope="col">
            {name}
          </th>
        ))}
      </tr>
    </thead>
  );
}
