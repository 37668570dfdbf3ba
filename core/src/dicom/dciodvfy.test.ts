/**
 * Every object ChestAid writes, checked by dicom3tools' dciodvfy (David Clunie's IOD validator,
 * Debian package dicom3tools): the outside check a PACS administrator runs before trusting an AI
 * vendor's objects. Each object is built from each source variant (CR and DX, with and without
 * laterality, with and without patient coordinates), because the headers depend on the source.
 *
 * A line starting with "Error" (or "Abort": the file could not be read) fails the test; warnings
 * do not (the private 99CHESTAID coding scheme and the Device UID that IHE AIR puts in Contributing
 * Equipment are expected ones). When dciodvfy is missing the test fails rather than passing
 * silently, unless CHESTAID_SKIP_DCIODVFY=1 says the skip is deliberate.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildFeedbackSr, resultForFeedback } from './feedbackSr';
import { buildHeatmapParametricMap } from './parametricMap';
import { buildResultSr } from './resultSr';
import { buildHeatmapSegmentation } from './segmentation';
import { demoResult, sourceVariants } from './testing/fixtures';
import type { Dataset } from './values';

const skipRequested = process.env.CHESTAID_SKIP_DCIODVFY === '1';
const installed = spawnSync('dciodvfy', [], { encoding: 'utf8' }).error === undefined;

/** A CAM with a peak and zeros, as the model's 7x7 is. */
const cam = { data: Float32Array.from({ length: 49 }, (_, i) => Math.max(0, 1 - Math.abs((i % 7) - 4) / 3 - Math.abs(Math.floor(i / 7) - 2) / 3)), width: 7, height: 7 };

/** Each object ChestAid writes, built from one source, with the IOD dciodvfy should recognise. */
function objectsFrom(source: Dataset): [string, string, ArrayBuffer][] {
  // A calibration identity as results carry it since issue 15: too long for one LO, so
  // SoftwareVersions splits it (srDocument.ts), which dciodvfy checks.
  const identity = `site-12+sha256:${'ab'.repeat(32)}`;
  const result = demoResult({ source, calibration: { method: demoResult().calibration.method, version: identity } });
  const { model, calibration } = result;
  const heatmap = { source, cam, model, calibration, trainedOnSyntheticData: true };
  const resultSr = buildResultSr(result);
  const feedback = buildFeedbackSr({
    source,
    result: resultForFeedback(resultSr.part10),
    groundTruth: 'pneumonia',
    comment: 'Right lower lobe consolidation.',
    reader: { name: 'Reader^Jane', organization: 'ChestAid demo site' },
    recordedAt: '2026-11-26T12:30:05.500Z',
  });
  return [
    ['result SR', 'ComprehensiveSR', resultSr.part10],
    ['Parametric Map', 'ParametricMap', buildHeatmapParametricMap(heatmap).part10],
    ['SEG', 'Segmentation', buildHeatmapSegmentation(heatmap).part10],
    ['feedback SR', 'ComprehensiveSR', feedback.part10],
  ];
}

if (skipRequested) {
  describe.skip('dciodvfy finds no errors (skipped: CHESTAID_SKIP_DCIODVFY=1)', () => {
    it('validates each object', () => undefined);
  });
} else if (!installed) {
  describe('dciodvfy finds no errors', () => {
    it('needs dciodvfy', () => {
      throw new Error(
        'dciodvfy is not installed: run scripts/setup.sh (it installs the Debian package dicom3tools), ' +
          'or set CHESTAID_SKIP_DCIODVFY=1 to skip this check deliberately',
      );
    });
  });
} else {
  describe('dciodvfy finds no errors', () => {
    const cases = sourceVariants().flatMap(([variant, source]) =>
      objectsFrom(source).map(([object, iod, part10]) => [object, variant, iod, part10] as const),
    );
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'chestaid-dciodvfy-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each(cases)('in the %s built from: %s', (_object, _variant, iod, part10) => {
      const file = join(dir, 'object.dcm');
      writeFileSync(file, Buffer.from(part10));
      const run = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
      // dciodvfy writes everything to stderr: the IOD it recognised first, then its findings.
      const lines = `${run.stdout}\n${run.stderr}`.split('\n').filter(line => line.trim() !== '');
      expect(lines.filter(line => /^(Error|Abort)/.test(line))).toEqual([]);
      expect(lines[0]).toBe(iod);
      expect(run.status).toBe(0);
    });
  });
}
