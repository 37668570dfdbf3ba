import { useId, useState } from 'react';

import { GROUND_TRUTHS, type GroundTruth } from '@chestaid/core';
import type { FeedbackState } from '../../analysis/types';
import { deliveryText } from '../outboxFormat';
import type { ChestAidPanelService } from '../types';
import { utcDateTime } from '../../i18n/format';
import { t } from '../../i18n/translate';

const LABEL_KEYS = { pneumonia: 'feedback.pneumonia', normal: 'feedback.normal', unsure: 'feedback.unsure' } as const satisfies Record<GroundTruth, string>;
const labelName = (label: GroundTruth) => t(LABEL_KEYS[label]);

/** The reader's ground truth for the result on screen: what they read on the image. */
export function Feedback({ feedback, record }: { feedback: FeedbackState; record: NonNullable<ChestAidPanelService['recordFeedback']> }) {
  const [choice, setChoice] = useState<GroundTruth | null>(null);
  const [comment, setComment] = useState('');
  const id = useId();
  const selected = choice ?? feedback.mine?.label ?? null;
  const saving = feedback.status === 'saving';
  const save = () => {
    if (!selected) return;
    void record(selected, comment).then(() => {
      setChoice(null);
      setComment('');
    });
  };
  return (
    <fieldset className="flex flex-col gap-1 rounded border p-3" data-cy="chestaid-feedback" data-status={feedback.status}>
      <legend className="px-2 text-xs font-semibold">{t('feedback.legend')}</legend>
      <div className="flex gap-2" role="radiogroup" aria-label={t('feedback.groundTruth')}>
        {GROUND_TRUTHS.map(label => (
          <button
            key={label}
            type="button"
            role="radio"
            aria-checked={selected === label}
            className={selected === label ? 'bg-primary text-primary-foreground rounded px-2 py-0.5 text-xs' : 'bg-secondary text-secondary-foreground rounded px-2 py-0.5 text-xs'}
            onClick={() => setChoice(label)}
            data-cy={`chestaid-feedback-${label}`}
          >
            {labelName(label)}
          </button>
        ))}
      </div>
      <label htmlFor={`${id}-comment`} className="text-xs">
        {t('feedback.comment')}
      </label>
      <textarea
        id={`${id}-comment`}
        value={comment}
        maxLength={2000}
        rows={2}
        onChange={event => setComment(event.target.value)}
        className="bg-background text-foreground border-input rounded border px-2 py-0.5 text-xs"
        data-cy="chestaid-feedback-comment"
      />
      <button
        type="button"
        className="bg-primary text-primary-foreground rounded px-2 py-0.5 text-xs"
        style={selected && !saving ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
        disabled={!selected || saving}
        onClick={save}
        data-cy="chestaid-feedback-save"
      >
        {t(feedback.mine ? 'feedback.change' : 'feedback.record')}
      </button>
      {feedback.mine && (
        <p className="text-xs" data-cy="chestaid-feedback-mine" data-label={feedback.mine.label}>
          {t('feedback.recorded', { reader: feedback.mine.reader, label: labelName(feedback.mine.label), when: utcDateTime(feedback.mine.at) })}
        </p>
      )}
      {feedback.mine && feedback.delivery && (
        <p
          className={feedback.delivery.state === 'refused' ? 'text-red-500 text-xs' : 'text-muted-foreground text-xs'}
          role="status"
          aria-live="polite"
          style={{ overflowWrap: 'anywhere' }}
          data-cy="chestaid-feedback-delivery"
          data-state={feedback.delivery.state}
          data-attempts={feedback.delivery.attempts}
        >
          {deliveryText(feedback.delivery)}
        </p>
      )}
      {feedback.others.length > 0 && (
        <p className="text-muted-foreground text-xs" data-cy="chestaid-feedback-others">
          {t('feedback.others', { readings: feedback.others.map(o => `${o.reader}: ${labelName(o.label)}`).join('; ') })}
        </p>
      )}
      {feedback.conflict && (
        <p className="text-xs" style={{ color: '#fbbf24' }} role="alert" data-cy="chestaid-feedback-conflict">
          {t('feedback.conflict')}
        </p>
      )}
      {feedback.message && (
        <p className={feedback.status === 'error' ? 'text-red-500 text-xs' : 'text-xs'} role={feedback.status === 'error' ? 'alert' : 'status'} data-cy="chestaid-feedback-message">
          {feedback.message}
        </p>
      )}
    </fieldset>
  );
}
