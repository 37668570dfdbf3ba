/**
 * Fails on a word the reader would see that does not come from the catalogue: JSX text, the
 * attributes a reader or a screen reader reads (title, aria-label, placeholder, alt, label...),
 * strings a JSX expression shows, and the string literals of the modules that make the words
 * (format.ts and the like). A new string must be a key in en.ts and es.ts, called through t().
 * The allow-list below is short and says why each entry reads the same in every language.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const SRC = join(__dirname, '..');

/** Attributes whose value is read by the reader or by assistive technology. */
const TEXT_ATTRIBUTES = new Set(['title', 'aria-label', 'aria-valuetext', 'aria-description', 'placeholder', 'alt', 'label', 'tooltip', 'legend', 'header', 'caption', 'description', 'xLabel', 'yLabel']);

/** Modules whose strings are words (not JSX): every string literal there with two words is flagged. */
const WORD_MODULES = [
  'panels/format.ts',
  'panels/outboxFormat.ts',
  'triage/format.ts',
  'triage/customization.ts',
  'getCustomizationModule.ts',
  'i18n/refusal.ts',
  'i18n/calibration.ts',
  'recalibration/monitoringView.ts',
  'hotkeys.ts',
  'analysis/notifications.ts',
];

/** Modules whose objects hand words to the host (a button's label and tooltip, a column's label). */
const HOST_WORD_MODULES = ['triage/customization.ts', 'getCustomizationModule.ts', 'hotkeys.ts', 'analysis/notifications.ts'];

/** Text that reads the same in every language: names, symbols, units. `file: text`. */
const ALLOWED = new Set([
  // The product's name, as the host's panel tab and the page's landmark name it.
  'panels/ChestAidPanel.tsx: ChestAid',
  'panels/getPanelModule.ts: ChestAid',
  // DICOM's and IHE's word for the archive, the same in Spanish.
  'panels/parts/PacsSection.tsx: PACS',
  // Names of metrics and algorithms, written the same in the Spanish literature.
  'recalibration/Charts.tsx: (AUC',
  'recalibration/RecalibrationPage.tsx: (sha256',
  'recalibration/RecalibrationPage.tsx: ECE',
  'recalibration/RecalibrationPage.tsx: Brier',
  'recalibration/RecalibrationPage.tsx: ROC AUC',
  'recalibration/RecalibrationPage.tsx: hash',
  // CSS classes of the risk column's fallback sort button, not words (a word module flags every two-word string).
  'triage/customization.ts: flex items-center gap-1',
]);

const hasWords = (text: string) => /[A-Za-z]{2,}/.test(text.replace(/\{\{\w+\}\}/g, ''));
const twoWords = (text: string) => /[A-Za-z]{2,}[ ,:;]+[A-Za-z]{2,}/.test(text);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return /\.(ts|tsx)$/.test(entry.name) && !/\.test\.tsx?$|\.d\.ts$/.test(entry.name) && !entry.name.startsWith('testing') ? [path] : [];
  });
}

/** The strings an expression shows: itself, both branches of a ?:, the right of && and ||, both sides of +. */
function shownStrings(node: ts.Expression): ts.Node[] {
  if (ts.isParenthesizedExpression(node)) return shownStrings(node.expression);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node];
  if (ts.isTemplateExpression(node)) return [node.head, ...node.templateSpans.map(span => span.literal), ...node.templateSpans.flatMap(span => shownStrings(span.expression))];
  if (ts.isArrayLiteralExpression(node)) return node.elements.flatMap(element => shownStrings(element));
  if (ts.isConditionalExpression(node)) return [...shownStrings(node.whenTrue), ...shownStrings(node.whenFalse)];
  if (ts.isBinaryExpression(node)) {
    const op = node.operatorToken.kind;
    if (op === ts.SyntaxKind.AmpersandAmpersandToken) return shownStrings(node.right);
    if (op === ts.SyntaxKind.BarBarToken || op === ts.SyntaxKind.QuestionQuestionToken || op === ts.SyntaxKind.PlusToken) return [...shownStrings(node.left), ...shownStrings(node.right)];
  }
  return [];
}

const isTemplatePart = (node: ts.Node): node is ts.TemplateHead | ts.TemplateMiddle | ts.TemplateTail =>
  ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node);

function textOf(node: ts.Node): string {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || isTemplatePart(node) || ts.isJsxText(node)) return node.text;
  return node.getText();
}

/** Untranslated words in one file, as `file:line: text`. */
export function untranslated(path: string): string[] {
  const name = relative(SRC, path).split('\\').join('/');
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true, path.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: string[] = [];
  const flag = (node: ts.Node, test: (text: string) => boolean) => {
    const text = textOf(node).trim();
    if (!test(text) || ALLOWED.has(`${name}: ${text}`)) return;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    found.push(`${name}:${line}: ${text}`);
  };
  const wordModule = WORD_MODULES.includes(name);
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if (ts.isJsxText(node)) flag(node, hasWords);
    if (ts.isJsxAttribute(node) && TEXT_ATTRIBUTES.has(node.name.getText(source)) && node.initializer) {
      const value = ts.isJsxExpression(node.initializer) ? node.initializer.expression : node.initializer;
      if (value) for (const shown of shownStrings(value as ts.Expression)) flag(shown, hasWords);
    }
    if (ts.isJsxExpression(node) && node.expression && (ts.isJsxElement(node.parent) || ts.isJsxFragment(node.parent))) {
      for (const shown of shownStrings(node.expression)) flag(shown, hasWords);
    }
    // Words handed to the host: a toolbar button's or a column's label and tooltip.
    if ((HOST_WORD_MODULES.includes(name) || name.endsWith('.tsx')) && ts.isPropertyAssignment(node) && TEXT_ATTRIBUTES.has(node.name.getText(source))) {
      for (const shown of shownStrings(node.initializer)) flag(shown, hasWords);
    }
    if (wordModule && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || isTemplatePart(node))) {
      // A t() key has no spaces; a regular expression literal is not a string literal.
      flag(node, twoWords);
    }
    node.forEachChild(visit);
  };
  visit(source);
  return found;
}

describe('every word a reader sees comes from the catalogue', () => {
  it('finds no untranslated text in extension/src', () => {
    const all = files(SRC).flatMap(untranslated);
    expect([...new Set(all)]).toEqual([]);
  });

  it('catches the kinds of string it is meant to catch', () => {
    const planted = join(__dirname, '__planted.tsx');
    const source = [
      "import { t } from './translate';",
      'export const A = ({ on }: { on: boolean }) => (',
      '  <p title="Plain English title" aria-label={on ? t(\'panel.analyze\') : \'Fallback words\'}>',
      '    Some words',
      "    {on && 'Shown words'}",
      "    {t('panel.analyze')} · {on ? 'x' : ''}",
      '  </p>',
      ');',
    ].join('\n');
    const fs = jest.requireActual<typeof import('node:fs')>('node:fs');
    fs.writeFileSync(planted, source);
    try {
      expect(untranslated(planted).map(found => found.replace(/^[^:]+:\d+: /, ''))).toEqual(['Plain English title', 'Fallback words', 'Some words', 'Shown words']);
    } finally {
      fs.unlinkSync(planted);
    }
  });
});
