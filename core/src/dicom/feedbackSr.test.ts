import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InputError } from '../errors';
import { buildFeedbackSr, isChestAidFeedbackSr, readFeedbackSr, resultForFeedback, type FeedbackSrInput } from './feedbackSr';
import { isChestAidResultSr } from './readResultSr';
import { buildResultSr } from './resultSr';
import { demoResult, demoSource } from './testing/fixtures';
import { DicomReadError, naturalize } from './values';

const resultSr = buildResultSr(demoResult());

function feedbackInput(overrides: Partial<FeedbackSrInput> = {}): FeedbackSrInput {
  return {
    source: demoSource(),
    result: resultForFeedback(resultSr.part10),
    groundTruth: 'pneumonia',
    comment: 'Right lower lobe consolidation; ChestAid ranked it below the threshold.',
    reader: { name: 'Reader^Jane', organization: 'ChestAid demo site' },
    recordedAt: '2026-11-26T12:30:05.500Z',
    ...overrides,
  };
}

describe('buildFeedbackSr / readFeedbackSr', () => {
  it('round-trips the ground truth with the result it answers, the reader and the model identity', () => {
    const input = feedbackInput();
    const built = buildFeedbackSr(input);
    const { content } = input.result;
    expect(readFeedbackSr(built.part10)).toEqual({
      source: content.source,
      result: { sopInstanceUID: resultSr.sopInstanceUID, seriesInstanceUID: resultSr.seriesInstanceUID },
      groundTruth: 'pneumonia',
      comment: input.comment,
      reader: input.reader,
      recordedAt: '2026-11-26T12:30:05.500Z',
      score: content.score,
      model: content.model,
      calibration: content.calibration,
    });
  });

  it.each(['normal', 'unsure'] as const)('round-trips %s, and no comment when none was given', groundTruth => {
    const read = readFeedbackSr(buildFeedbackSr(feedbackInput({ groundTruth, comment: undefined })).dataset);
    expect(read.groundTruth).toBe(groundTruth);
    expect(read).not.toHaveProperty('comment');
  });

  it('is VERIFIED by the reader, files under the source study, and is told apart from a result SR', () => {
    const ds = naturalize(buildFeedbackSr(feedbackInput()).part10);
    expect(ds.VerificationFlag).toBe('VERIFIED');
    expect(ds.StudyInstanceUID).toBe(demoSource().StudyInstanceUID);
    expect(ds.SeriesDescription).toBe('ChestAid reader feedback');
    expect(isChestAidFeedbackSr(ds)).toBe(true);
    expect(isChestAidResultSr(ds)).toBe(false);
    expect(isChestAidFeedbackSr(resultSr.dataset)).toBe(false);
  });

  it('refuses bad input, naming it', () => {
    expect(() => buildFeedbackSr(feedbackInput({ groundTruth: 'maybe' as never }))).toThrow(/ground truth must be 'pneumonia', 'normal' or 'unsure', got "maybe"/);
    expect(() => buildFeedbackSr(feedbackInput({ reader: { name: '', organization: 'x' } }))).toThrow(InputError);
    expect(() => buildFeedbackSr(feedbackInput({ source: demoSource(2) }))).toThrow(/the result is about image .*, not the source given/);
    expect(() => buildFeedbackSr(feedbackInput({ recordedAt: 'later' }))).toThrow(/recordedAt is not a valid date-time/);
  });

  it('refuses to read a result SR as feedback', () => {
    expect(() => readFeedbackSr(resultSr.part10)).toThrow(DicomReadError);
  });

  const dsrdump = spawnSync('dsrdump', ['--version']).error === undefined;
  (dsrdump ? it : it.skip)('parses in DCMTK dsrdump with no warnings beyond the known DCMTK 3.6.7 ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chestaid-feedback-'));
    try {
      const file = join(dir, 'feedback.dcm');
      writeFileSync(file, Buffer.from(buildFeedbackSr(feedbackInput()).part10));
      const run = spawnSync('dsrdump', ['+Pl', file], { encoding: 'utf8' });
      const unexpected = run.stderr
        .split('\n')
        .filter(line => line.trim() !== '')
        .filter(line => !/VR checker does not support this Specific Character Set|\(0040,a032\) violates VR definition/.test(line));
      expect(unexpected).toEqual([]);
      expect(run.stdout).toContain('VERIFIED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
