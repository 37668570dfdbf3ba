import type { PriorComparison as Comparison } from '../../analysis/types';
import { comparisonText } from '../format';
import { t } from '../../i18n/translate';

/** The current study beside the patient's prior: the change in score, or what still needs Analyze. */
export function PriorComparison({ comparison }: { comparison: Comparison }) {
  const { line, note } = comparisonText(comparison);
  return (
    <section
      className="flex flex-col gap-1 rounded border p-3 text-xs"
      aria-label={t('prior.label')}
      data-cy="chestaid-prior"
      data-current={comparison.current.image.sopInstanceUID}
      data-prior={comparison.prior.image.sopInstanceUID}
      data-change={comparison.change?.change}
    >
      <p className="font-semibold" data-cy="chestaid-prior-change">
        {line}
      </p>
      {note && (
        <p style={{ color: '#fbbf24' }} data-cy="chestaid-prior-note">
          {note}
        </p>
      )}
    </section>
  );
}
