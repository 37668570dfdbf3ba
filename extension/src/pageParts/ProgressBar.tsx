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
