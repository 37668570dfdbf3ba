import type { RuntimeState } from '../../analysis/types';
import { progressText } from '../format';
import { t } from '../../i18n/translate';

/** The model download's progress while it loads, then an indeterminate bar while the analysis runs. */
export function DownloadProgress({ runtime }: { runtime: RuntimeState }) {
  const loading = runtime.status === 'loading';
  const fraction = loading && runtime.total ? Math.min(1, runtime.loaded / runtime.total) : null;
  return (
    <div data-cy="chestaid-progress">
      <div
        role="progressbar"
        aria-label={t(loading ? 'progress.download' : 'progress.analysis')}
        aria-valuetext={progressText(runtime)}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={fraction === null ? undefined : Math.floor(fraction * 100)}
        className="bg-muted h-2 w-full overflow-hidden rounded"
      >
        <div
          className="bg-primary h-2"
          style={{ width: fraction === null ? '100%' : `${fraction * 100}%`, opacity: fraction === null ? 0.4 : 1 }}
        />
      </div>
    </div>
  );
}
