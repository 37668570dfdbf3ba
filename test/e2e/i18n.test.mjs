// The reader's language end to end, in Debian Chromium against the viewer `npm start` serves: a
// browser whose language is Spanish (the context's locale sets navigator.language, as `--lang=es`
// does) sees ChestAid in Spanish wherever it speaks: the study list's risk column, the panel after
// Analyze (score, decision, heatmap, feedback, threshold), the refusal of a CT, the triage page,
// the recalibration and monitoring pages. No English value of the catalogue (extension/src/i18n)
// may appear there. OHIF's own language setting (localStorage i18nextLng, which its preferences
// write) wins over the browser's, for ChestAid as for OHIF. Screenshots of both languages go to
// test/e2e/artifacts/.
//
//   node --test test/e2e/i18n.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import ts from 'typescript';

import { ARTIFACTS, BANNER_CONFIRM, ROOT, startSession, watchedPage } from './harness.mjs';

/** A catalogue (en or es) as the extension has it, compiled from its TypeScript source. */
function catalogue(name) {
  const source = readFileSync(join(ROOT, `extension/src/i18n/${name}.ts`), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const module = { exports: {} };
  new Function('module', 'exports', outputText)(module, module.exports);
  return module.exports[name];
}

const en = catalogue('en');
const es = catalogue('es');

/**
 * The English words to look for: each English value that Spanish words differently, cut at its
 * {{values}}, each piece of four letters or more (a word of a sentence is enough to give it away).
 */
const ENGLISH = [
  ...new Set(
    Object.keys(en)
      .filter(key => en[key] !== es[key])
      .flatMap(key => en[key].split(/\{\{\w+\}\}/))
      .map(piece => piece.replace(/^[\s,.:;()·–-]+|[\s,.:;()·–-]+$/g, ''))
      .filter(piece => /[A-Za-z]{4,}/.test(piece) && !Object.values(es).some(value => value.includes(piece))),
  ),
];

const escape = text => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The English pieces found in `text`, whole words only. */
function englishIn(text) {
  return ENGLISH.filter(piece => new RegExp(`(^|[^A-Za-z])${escape(piece)}($|[^A-Za-z])`).test(text));
}

const TRIAGE_PATH = '/chestaid-triage';
const RECALIBRATION_PATH = '/chestaid-calibration';
const MONITORING_PATH = '/chestaid-monitoring';
const PANEL = '[data-cy="chestaid-panel"]';

let viewer;
let browser;
let studies;
const problems = [];
const foreignRequests = [];

before(
  async () => {
    ({ viewer, studies, browser } = await startSession());
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
});

/** A page in a browser whose language is `locale`; `stored`: OHIF's language setting, as its preferences leave it. */
async function pageIn(locale, { stored } = {}) {
  const context = await browser.newContext({ locale, viewport: { width: 1400, height: 900 } });
  if (stored) await context.addInitScript(lng => window.localStorage.setItem('i18nextLng', lng), stored);
  return watchedPage(context, { viewerUrl: viewer.url, problems, foreignRequests });
}

/**
 * The text ChestAid shows under `selector`, without the study's own data (patient, MRN, date,
 * description, modalities in the triage rows; image labels in the panel), which is the PACS's.
 */
function chestAidText(page, selector) {
  return page.evaluate(sel => {
    return [...document.querySelectorAll(sel)]
      .map(root => {
        const copy = root.cloneNode(true);
        copy.querySelectorAll('tr[data-cy="chestaid-triage-row"] > td:nth-child(n+3), [data-cy="chestaid-image-row"] > button').forEach(cell => cell.remove());
        // Tooltips and accessible names are read too.
        const attributes = [...copy.querySelectorAll('[title], [aria-label]')].flatMap(el => [el.getAttribute('title'), el.getAttribute('aria-label')]);
        return [copy.innerText ?? copy.textContent, ...attributes].filter(Boolean).join('\n');
      })
      .join('\n');
  }, selector);
}

async function dismissBanner(page) {
  const confirm = page.locator(BANNER_CONFIRM);
  if (await confirm.isVisible()) await confirm.click();
}

const radiograph = () => studies.find(study => study.Modalities === 'CR');
const ct = () => studies.find(study => study.Modalities === 'CT');

async function studyList(page) {
  await page.goto(`${viewer.url}/`);
  await page.locator('[data-cy="chestaid-risk-header"]').waitFor();
  // Every cell read from the store: none still shows the reading mark.
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('[data-cy="chestaid-risk"]')];
    return cells.length > 0 && cells.every(cell => cell.getAttribute('data-status') !== 'reading');
  });
  return chestAidText(page, '[data-cy="chestaid-risk-header"], [data-cy="chestaid-risk"]');
}

async function panelAfterAnalyze(page) {
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${radiograph().StudyInstanceUID}`);
  await page.locator(`${PANEL} [data-cy="chestaid-analyze"]:not([disabled])`).waitFor({ timeout: 120_000 });
  await page.waitForFunction(() => window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.());
  await page.locator(`${PANEL} [data-cy="chestaid-analyze"]`).click();
  await page.locator(`${PANEL} [data-cy="chestaid-result"], ${PANEL} [data-cy="chestaid-status"][role="alert"]`).first().waitFor({ timeout: 180_000 });
  assert.equal(await page.locator(`${PANEL} [data-cy="chestaid-status"][role="alert"]`).count(), 0, await page.locator(`${PANEL} [data-cy="chestaid-status"]`).innerText());
  await page.locator(`${PANEL} [data-cy="chestaid-heatmap"]`).waitFor();
  return chestAidText(page, PANEL);
}

/**
 * OHIF's study list sorted by risk with a click on the risk column's sort arrow (whose name OHIF
 * makes from the column's label): the study the panel scored comes first.
 */
async function studyListByRisk(page, label) {
  await studyList(page);
  await page.locator(`button[aria-label$="${label}"]`).click();
  await page.waitForURL(url => url.searchParams.get('sortBy') === 'chestaidRisk' && url.searchParams.get('sortDirection') === 'desc');
  await page.waitForFunction(() => document.querySelector('[data-cy="chestaid-risk"]')?.getAttribute('data-status') === 'scored');
  // The cell keeps the score and its threshold whole (the column cuts longer text with an ellipsis).
  const cell = await page.evaluate(() => {
    const risk = document.querySelector('[data-cy="chestaid-risk"]');
    // The island's box around the cell's words cuts them (the score's own span is inline).
    const box = risk.parentElement.closest('.truncate');
    return { text: risk.innerText, needs: box.scrollWidth, has: box.clientWidth };
  });
  assert.ok(cell.needs <= cell.has, `"${cell.text}" needs ${cell.needs} px, its cell has ${cell.has}`);
  await dismissBanner(page);
}

async function triagePage(page) {
  await page.goto(`${viewer.url}${TRIAGE_PATH}`);
  await page.locator('[data-cy="chestaid-triage-list"]').waitFor({ timeout: 120_000 });
  return chestAidText(page, '[data-cy="chestaid-triage"]');
}

test('a Spanish browser sees ChestAid in Spanish: study list, panel, CT refusal, triage, recalibration and monitoring pages', { timeout: 900_000 }, async t => {
  assert.ok(ENGLISH.length > 200, `the English pieces to look for (${ENGLISH.length}) cover the catalogue`);
  const page = await pageIn('es-ES');

  const list = await studyList(page);
  assert.match(list, /Riesgo de neumonía/);
  assert.match(list, /sin analizar/);
  assert.deepEqual(englishIn(list), [], `study list:\n${list}`);

  const panel = await panelAfterAnalyze(page);
  // A number in Spanish: a decimal comma, the percent sign after a space.
  assert.match(panel, /Score de riesgo \(calibrado\)\s*\d+,\d\s%/);
  assert.match(panel, /umbral clínico/);
  assert.match(panel, /Mapa de calor: atención del modelo, no localización de la lesión\./);
  assert.deepEqual(englishIn(panel), [], `panel:\n${panel}`);
  await dismissBanner(page);
  await page.locator(PANEL).screenshot({ path: join(ARTIFACTS, 'i18n-es-panel.png') });

  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${ct().StudyInstanceUID}`);
  const blocked = page.locator('[data-cy="chestaid-blocked"]');
  await blocked.waitFor();
  assert.equal(await blocked.innerText(), 'ChestAid lee radiografías de tórax (CR o DX); este estudio tiene CT');

  const triage = await triagePage(page);
  assert.match(triage, /Triaje ChestAid: lista de estudios por riesgo de neumonía/);
  // The study scored in the panel above is ranked with a Spanish score.
  assert.match(triage, /\d+,\d\s% \(por (encima|debajo) del umbral \d+,\d\s%\)/);
  assert.deepEqual(englishIn(triage), [], `triage page:\n${triage}`);
  await dismissBanner(page);
  await page.screenshot({ path: join(ARTIFACTS, 'i18n-es-triage.png'), clip: { x: 0, y: 0, width: 1400, height: 560 } });
  await studyListByRisk(page, 'Riesgo de neumonía');
  await page.screenshot({ path: join(ARTIFACTS, 'i18n-es-studylist.png'), clip: { x: 0, y: 0, width: 1400, height: 560 } });

  for (const [path, cy] of [
    [RECALIBRATION_PATH, 'chestaid-calibration'],
    [MONITORING_PATH, 'chestaid-monitoring'],
  ]) {
    await page.goto(`${viewer.url}${path}`);
    await page.locator(`[data-cy="${cy}"] h1`).waitFor();
    // The page has read its model (its active line), so the words that depend on it are there.
    await page.locator(`[data-cy="${cy}-active"], [data-cy="${cy}-error"]`).first().waitFor({ timeout: 60_000 });
    const text = await chestAidText(page, `[data-cy="${cy}"]`);
    assert.deepEqual(englishIn(text), [], `${path}:\n${text}`);
    t.diagnostic(`${path}: ${text.split('\n')[0]}`);
  }
  assert.deepEqual(problems, []);
  assert.deepEqual(foreignRequests, []);
});

test('OHIF\'s language setting (i18nextLng) wins over the browser\'s language', { timeout: 300_000 }, async () => {
  const spanishSetting = await pageIn('en-US', { stored: 'es' });
  assert.match(await studyList(spanishSetting), /^Riesgo de neumonía/);
  const englishSetting = await pageIn('es-ES', { stored: 'en-US' });
  assert.match(await studyList(englishSetting), /^Pneumonia risk/);
});

test('an English browser sees the same pages in English (the screenshots beside the Spanish ones)', { timeout: 600_000 }, async () => {
  const page = await pageIn('en-US');
  const panel = await panelAfterAnalyze(page);
  assert.match(panel, /Risk score \(calibrated\)\s*\d+\.\d%/);
  await dismissBanner(page);
  await page.locator(PANEL).screenshot({ path: join(ARTIFACTS, 'i18n-en-panel.png') });
  const triage = await triagePage(page);
  assert.match(triage, /ChestAid triage: study list by pneumonia risk/);
  await dismissBanner(page);
  await page.screenshot({ path: join(ARTIFACTS, 'i18n-en-triage.png'), clip: { x: 0, y: 0, width: 1400, height: 560 } });
  await studyListByRisk(page, 'Pneumonia risk');
  await page.screenshot({ path: join(ARTIFACTS, 'i18n-en-studylist.png'), clip: { x: 0, y: 0, width: 1400, height: 560 } });
  assert.deepEqual(problems, []);
});
