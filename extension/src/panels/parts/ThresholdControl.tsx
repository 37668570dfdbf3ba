import { useId, useState, type ChangeEvent } from 'react';

import type { ThresholdState } from '../../analysis/thresholdSetting';
import { parseThreshold, thresholdInputText } from '../format';
import type { ChestAidPanelService } from '../types';
import { number } from '../../i18n/format';
import { t } from '../../i18n/translate';

/** The clinical threshold as a slider and a typed value, with Reset back to the model's. */
export function ThresholdControl({ threshold, service, siteVersion }: { threshold: ThresholdState; service: ChestAidPanelService; siteVersion: string | null }) {
  const id = useId();
  // The text being typed, while it differs from the service's value (null: show that value).
  const [draft, setDraft] = useState<string | null>(null);
  const parsed = draft === null ? null : parseThreshold(draft);
  const problem = parsed && 'problem' in parsed ? parsed.problem : null;

  const onSlide = (event: ChangeEvent<HTMLInputElement>) => {
    setDraft(null);
    service.setThreshold(Number(event.target.value));
  };
  const onType = (event: ChangeEvent<HTMLInputElement>) => {
    const text = event.target.value;
    setDraft(text);
    const value = parseThreshold(text);
    if ('value' in value) service.setThreshold(value.value);
  };
  const onReset = () => {
    setDraft(null);
    service.resetThreshold();
  };

  return (
    <fieldset className="flex flex-col gap-1 rounded border p-3" data-cy="chestaid-threshold">
      <legend className="px-2 text-xs font-semibold">{t('threshold.legend')}</legend>
      <input
        id={`${id}-slider`}
        type="range"
        min={0}
        max={1}
        step={0.001}
        value={threshold.value}
        onChange={onSlide}
        aria-label={t('threshold.slider')}
        style={{ width: '100%' }}
        data-cy="chestaid-threshold-slider"
      />
      <div className="flex items-center gap-2">
        <label htmlFor={`${id}-value`} className="text-xs">
          {t('threshold.input')}
        </label>
        <input
          id={`${id}-value`}
          type="number"
          min={0}
          max={1}
          step={0.001}
          value={draft ?? thresholdInputText(threshold.value)}
          onChange={onType}
          onBlur={() => setDraft(null)}
          aria-invalid={problem !== null}
          className="bg-background text-foreground border-input rounded border px-2 py-0.5"
          style={{ width: '6.5rem' }}
          data-cy="chestaid-threshold-input"
        />
        <button
          type="button"
          className="bg-secondary text-secondary-foreground rounded px-2 py-0.5"
          style={threshold.custom ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
          disabled={!threshold.custom}
          onClick={onReset}
          aria-label={t('threshold.resetLabel')}
          data-cy="chestaid-threshold-reset"
        >
          {t('threshold.reset')}
        </button>
      </div>
      {problem && (
        <p className="text-red-500 text-xs" role="alert" data-cy="chestaid-threshold-problem">
          {problem}
        </p>
      )}
      <p className="text-muted-foreground text-xs" data-cy="chestaid-threshold-note">
        {threshold.custom
          ? t('threshold.noteCustom', { clinical: number(threshold.clinical, 5) })
          : siteVersion
            ? t('threshold.noteSite', { version: siteVersion })
            : t('threshold.noteModel')}
      </p>
    </fieldset>
  );
}
