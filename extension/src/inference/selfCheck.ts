/**
 * The manifest's self-check (schema 1.6.0, SelfCheckBlock): before an engine's results are shown,
 * its first run is the probe input (chestaid-probe/1, reference.ts probeInput), compared with what
 * onnxruntime-node answered for the same bytes at export. An engine that disagrees is refused with
 * the numbers, so the viewer falls to the next engine (engineChoice.ts) rather than show a score
 * computed wrongly. Plain data: the block crosses postMessage inside InferenceConfig.
 */
import type { SelfCheckBlock } from '@chestaid/core';
import { InferenceError, type SelfCheckReport } from './protocol';
import { maxAbsDiff, probeInput, type Reference } from './reference';

export const PROBE = 'chestaid-probe/1';

/** The block as a Reference for an input of `dims` ([1, 3, H, W] from the graph). */
export function referenceFromBlock(block: SelfCheckBlock, dims: readonly number[]): Reference {
  if (block.probe !== PROBE) throw new InferenceError(`the manifest's self_check uses probe ${JSON.stringify(block.probe)}; this viewer knows ${PROBE}`);
  return {
    input: probeInput(dims),
    dims,
    logit: block.logit,
    cam: Float32Array.from(block.cam.data),
    tolerance: { logit: block.tolerances.logit, cam: block.tolerances.cam },
  };
}

/** How far one run's outputs are from the reference; NaN anywhere fails. */
export function compareWithReference(
  expected: Reference,
  got: { readonly logit: number; readonly cam: ArrayLike<number> },
  against: SelfCheckReport['against'],
  runMs: number,
): SelfCheckReport {
  const logitDiff = Math.abs(got.logit - expected.logit);
  const camDiff = maxAbsDiff(got.cam, expected.cam);
  const { tolerance } = expected;
  return { against, passed: logitDiff <= tolerance.logit && camDiff <= tolerance.cam, logitDiff, camDiff, tolerance, runMs };
}

function shown(value: number): string {
  return value === 0 || !Number.isFinite(value) ? String(value) : value.toPrecision(2);
}

/** For the panel's reason: "self-check against the manifest passed (logit off by 2.4e-6)". */
export function describeSelfCheck(report: SelfCheckReport): string {
  return `self-check against the manifest ${report.passed ? 'passed' : 'failed'} (logit off by ${shown(report.logitDiff)})`;
}

/** The refusal of an engine that failed: what it is, by how much, and the allowance. */
export function selfCheckFailure(engine: string, report: SelfCheckReport, got: { readonly logit: number; readonly camLength: number }, expected: Reference): InferenceError {
  const cam = got.camLength !== expected.cam.length
    ? `CAM of ${got.camLength} values where the manifest has ${expected.cam.length}`
    : `CAM off by ${shown(report.camDiff)}`;
  return new InferenceError(
    `${engine} failed its self-check against the manifest's ${PROBE} outputs: logit ${got.logit} where onnxruntime-node gave ${expected.logit} ` +
      `(off by ${shown(report.logitDiff)}), ${cam}; tolerance ${report.tolerance.logit} and ${report.tolerance.cam}`,
  );
}

/**
 * Runs the probe through `run` and compares; resolves with the report when it passes, throws the
 * refusal when it does not. `run` may consume its input.
 */
export async function runSelfCheck(
  engine: string,
  block: SelfCheckBlock,
  dims: readonly number[],
  run: (input: Float32Array, dims: readonly number[]) => Promise<{ readonly logit: number; readonly cam: ArrayLike<number> }>,
  now: () => number,
): Promise<SelfCheckReport> {
  const expected = referenceFromBlock(block, dims);
  const start = now();
  const got = await run(expected.input.slice(), dims);
  const report = compareWithReference(expected, got, 'manifest', now() - start);
  if (!report.passed) throw selfCheckFailure(engine, report, { logit: got.logit, camLength: got.cam.length }, expected);
  return report;
}
