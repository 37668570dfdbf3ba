/**
 * The user-visible words added for the reader's day (issue 18: the risk sort, the hotkeys, the
 * notifications, the score's explanation), in one place so they move into the translation
 * catalogue together. Functions take the numbers already formatted by their callers.
 */
export const MESSAGES = {
  riskSort: {
    /** The fallback sort button's label, for a host without OHIF's column header to borrow. */
    sortButton: (column: string) => `Sort ${column}`,
  },
  hotkeys: {
    // No ':' in these: OHIF's preferences pass each label through i18next's t(), where ':' separates a namespace.
    analyze: 'ChestAid Analyze the image',
    nextImage: 'ChestAid next image of the study',
    previousImage: 'ChestAid previous image of the study',
    feedbackPneumonia: 'ChestAid record my reading (pneumonia)',
    feedbackNormal: 'ChestAid record my reading (normal)',
    feedbackUnsure: 'ChestAid record my reading (unsure)',
  },
  notifications: {
    savedTitle: 'Saved to the PACS',
    alreadySavedTitle: 'Already in the PACS',
    saveFailedTitle: 'Not saved to the PACS',
    staleTitle: 'Stale result',
  },
  score: {
    /** "92.3 % (above threshold 75.0 %)": the calibrated probability beside the threshold it is read against. */
    withThreshold: (score: string, threshold: string, above: boolean) => `${score} (${above ? 'above' : 'below'} threshold ${threshold})`,
    meaning: (score: string, threshold: string) =>
      `Calibrated probability of pneumonia ${score}; the threshold ${threshold} is the operating point studies are flagged at, not a diagnosis.`,
    operatingPoint: (sensitivity: string, specificity: string, where: string) =>
      `At this threshold the model found ${sensitivity} of pneumonia cases (sensitivity) and cleared ${specificity} of normal ones (specificity), on ${where}.`,
    notEvaluated: 'The model was not evaluated at this threshold: its sensitivity and specificity there are unknown.',
    split: (split: string, n: number, nPos: number) => `the ${split} split (${n} images, ${nPos} with pneumonia)`,
    interval: (value: string, low: string, high: string, level: string) => `${value} (${level} CI ${low}–${high})`,
  },
} as const;
