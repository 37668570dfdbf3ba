/**
 * The labelled cohorts a site brings, as CSV (RFC 4180 subset: commas, optional double quotes,
 * a header row naming the columns in any order, blank lines ignored):
 *
 *   images   StudyInstanceUID,SeriesInstanceUID,SOPInstanceUID,label    the admin page: the images
 *            are fetched from the viewer's data source and scored by the deployed model
 *   files    file,label                                                 the CLI: Part 10 files
 *            (paths relative to the CSV) scored by the deployed model with onnxruntime-node
 *   scores   key,logit,label[,model_sha256]                             the CLI: logits the
 *            deployed model already gave; the monitoring page's CSV export is read as is
 *            (sop_instance_uid for key, ground_truth for label)
 *
 * Labels: pneumonia / positive / 1, normal / negative / 0, unsure (kept, then left out of the fit
 * by the cohort check, which counts it). Any other value is refused with its line and text.
 * Framework-free: the page and the Node CLI share it.
 */

export type CohortLabel = 0 | 1 | 'unsure';

export interface ImageCohortRow {
  readonly line: number;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
  readonly label: CohortLabel;
}

export interface FileCohortRow {
  readonly line: number;
  readonly file: string;
  readonly label: CohortLabel;
}

export interface ScoreCohortRow {
  readonly line: number;
  readonly key: string;
  readonly logit: number;
  readonly label: CohortLabel;
  readonly modelSha256?: string;
}

export class CohortCsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CohortCsvError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

const LABELS: Readonly<Record<string, CohortLabel>> = {
  pneumonia: 1,
  positive: 1,
  '1': 1,
  normal: 0,
  negative: 0,
  '0': 0,
  unsure: 'unsure',
};

/** A label cell as the fit takes it; throws naming the line and the text. */
export function parseLabel(text: string, line: number): CohortLabel {
  const label = LABELS[text.trim().toLowerCase()];
  if (label === undefined) {
    throw new CohortCsvError(`line ${line}: label ${JSON.stringify(text)} is not one of pneumonia, normal, unsure (or 1, 0)`);
  }
  return label;
}

/** Splits one CSV record; quotes may hold commas and doubled quotes. */
export function splitCsvLine(text: string, line: number): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell.trim() === '') {
      cell = '';
      quoted = true;
    } else if (c === ',') {
      cells.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  if (quoted) throw new CohortCsvError(`line ${line}: a quoted cell is not closed`);
  cells.push(cell.trim());
  return cells;
}

interface Table {
  readonly columns: Map<string, number>;
  readonly rows: { readonly line: number; readonly cells: string[] }[];
}

function table(text: string, required: readonly string[], what: string): Table {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const records = lines.map((content, i) => ({ line: i + 1, content })).filter(l => l.content.trim() !== '');
  if (records.length === 0) throw new CohortCsvError(`the ${what} CSV is empty: expected a header ${required.join(',')}`);
  const header = splitCsvLine(records[0].content, records[0].line).map(c => c.toLowerCase());
  const columns = new Map(header.map((name, i) => [name, i]));
  const missing = required.filter(name => !columns.has(name.toLowerCase()));
  if (missing.length > 0) {
    throw new CohortCsvError(`the ${what} CSV's header ${JSON.stringify(records[0].content)} lacks ${missing.join(', ')}; expected ${required.join(',')}`);
  }
  const rows = records.slice(1).map(({ line, content }) => {
    const cells = splitCsvLine(content, line);
    if (cells.length !== header.length) {
      throw new CohortCsvError(`line ${line}: ${cells.length} cells where the header has ${header.length}`);
    }
    return { line, cells };
  });
  if (rows.length === 0) throw new CohortCsvError(`the ${what} CSV has a header but no rows`);
  return { columns, rows };
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** The admin page's cohort: images named by their UIDs, with labels. */
export function parseImageCohortCsv(text: string): ImageCohortRow[] {
  const required = ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'label'];
  const { columns, rows } = table(text, required, 'cohort');
  const at = (name: string) => columns.get(name.toLowerCase()) as number;
  return rows.map(({ line, cells }) => {
    const uids = required.slice(0, 3).map(name => {
      const value = cells[at(name)];
      if (!UID.test(value) || value.length > 64) throw new CohortCsvError(`line ${line}: ${name} ${JSON.stringify(value)} is not a DICOM UID`);
      return value;
    });
    return { line, studyInstanceUID: uids[0], seriesInstanceUID: uids[1], sopInstanceUID: uids[2], label: parseLabel(cells[at('label')], line) };
  });
}

/** The CLI's cohort of DICOM files with labels. */
export function parseFileCohortCsv(text: string): FileCohortRow[] {
  const { columns, rows } = table(text, ['file', 'label'], 'files');
  return rows.map(({ line, cells }) => {
    const file = cells[columns.get('file') as number];
    if (file === '') throw new CohortCsvError(`line ${line}: the file is empty`);
    return { line, file, label: parseLabel(cells[columns.get('label') as number], line) };
  });
}

/** Which cohort CSV a header names: files, images (UIDs) or scores. */
export function cohortCsvKind(text: string): 'files' | 'images' | 'scores' {
  const names = splitCsvLine(text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '', 1).map(n => n.toLowerCase());
  if (names.includes('file')) return 'files';
  if (names.includes('sopinstanceuid') && names.includes('seriesinstanceuid')) return 'images';
  return 'scores';
}

/** Other names of the scores CSV's columns: those of the monitoring page's export. */
const SCORE_ALIASES: Readonly<Record<string, string>> = { sop_instance_uid: 'key', ground_truth: 'label' };

/** The CLI's cohort: logits of the deployed model with labels. */
export function parseScoreCohortCsv(text: string): ScoreCohortRow[] {
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const names = splitCsvLine(header, 1).map(name => name.toLowerCase());
  const renamed = names.some(name => name in SCORE_ALIASES) && !names.includes('key') && !names.includes('label')
    ? [names.map(name => SCORE_ALIASES[name] ?? name).join(','), ...text.replace(/^\uFEFF/, '').split(/\r?\n/).slice(1)].join('\n')
    : text;
  const { columns, rows } = table(renamed, ['key', 'logit', 'label'], 'scores');
  const sha = columns.get('model_sha256');
  return rows.map(({ line, cells }) => {
    const key = cells[columns.get('key') as number];
    if (key === '') throw new CohortCsvError(`line ${line}: the key is empty`);
    const logitText = cells[columns.get('logit') as number];
    const logit = Number(logitText);
    if (logitText === '' || !Number.isFinite(logit)) throw new CohortCsvError(`line ${line}: logit ${JSON.stringify(logitText)} is not a finite number`);
    const modelSha256 = sha === undefined ? undefined : cells[sha].toLowerCase() || undefined;
    if (modelSha256 !== undefined && !/^[0-9a-f]{64}$/.test(modelSha256)) {
      throw new CohortCsvError(`line ${line}: model_sha256 ${JSON.stringify(cells[sha as number])} is not a sha256 in hex`);
    }
    return { line, key, logit, label: parseLabel(cells[columns.get('label') as number], line), ...(modelSha256 ? { modelSha256 } : {}) };
  });
}
