/**
 * Markup the full-page views (triage worklist, recalibration, monitoring) repeat: a link-styled
 * button, an error line read out by screen readers, a progress bar and a table header row. One
 * folder, one component a file, so the pages keep looking and reading alike; the pages import
 * them from here.
 */
export { ColumnHeads } from './ColumnHeads';
export { ErrorLine } from './ErrorLine';
export { LinkButton } from './LinkButton';
export { ProgressBar } from './ProgressBar';
