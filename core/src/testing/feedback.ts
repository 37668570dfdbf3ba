/** A reader's feedback as the tests record it: one image, a positive result, a named reader. */
import type { FeedbackInput } from '../feedback';

export function feedbackInput(over: Partial<FeedbackInput> = {}): FeedbackInput {
  return {
    studyInstanceUID: '1.2.3',
    seriesInstanceUID: '1.2.3.1',
    sopInstanceUID: '1.2.3.1.1',
    modelSha256: 'a'.repeat(64),
    calibrationVersion: 'v1',
    score: 0.8,
    logit: 1.4,
    decision: { above: true, threshold: 0.5 },
    label: 'pneumonia',
    reader: 'Doe^Jane',
    ...over,
  };
}
