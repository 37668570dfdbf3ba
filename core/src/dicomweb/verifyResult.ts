/**
 * Whether a ChestAid result SR read from the PACS is one ChestAid could have written, checked by
 * every reader before it shows or ranks the score (the viewer's panel and worklist, the worker's
 * "already done" test). Everything in an SR is public and anyone who can STOW can store one, so
 * nothing in it is taken on trust: an SR saying "below threshold", dated 1900, must not send a
 * pneumonia study to the bottom of a worklist nor stop the worker from writing the true result.
 *
 * Checks, each failing with its reason:
 * - the model sha256 is the one this reader has loaded (a score of other bytes is not comparable);
 * - the device UID is this model's (manifest model.device_uid);
 * - the calibration identity (siteCalibration/identity.ts) is one this reader holds;
 * - the SOP Instance UID is the one ChestAid derives for its source image, model sha256 and
 *   calibration identity (dicom/resultUids.ts, any revision);
 * - the clinical threshold is that calibration's;
 * - the score is that calibration applied to the stored logit, to SCORE_TOLERANCE;
 * - the decision is the score against the stored threshold.
 *
 * What this cannot prove: that the logit came from the image. Someone who knows the model, its
 * calibration and the UID rule can still write a consistent SR with an invented logit; only a
 * signature (DICOM Digital Signatures) or a PACS that lets no one else write ChestAid's series can
 * close that (docs/architecture.md). What it does close: every contradiction, a foreign UID, other
 * model bytes or device, an unknown calibration, and "keep the earliest" as a way to win.
 */
import { calibrate } from '../calibration';
import { revisionOf } from '../dicom/resultUids';
import { messageOf } from '../errors';
import type { Manifest } from '../manifest';
import { calibrationName } from '../siteCalibration/overlay';

/** The result content a ChestAid SR holds (the dicom module's ChestAidResultContent). */
export interface ArchivedContent {
  readonly source: { readonly studyInstanceUID: string; readonly seriesInstanceUID: string; readonly sopInstanceUID: string; readonly sopClassUID: string };
  readonly score: number;
  readonly logit: number;
  readonly threshold: number;
  readonly decision: 'above' | 'below';
  readonly calibration: { readonly method: string; readonly version: string };
  readonly model: { readonly id: string; readonly version: string; readonly sha256: string; readonly deviceUID: string };
  readonly observedAt: string;
}

/** A ChestAid SR found in the PACS, judged (judgeResults): only a verified one's score may be shown as a score. */
export interface ArchivedResult {
  readonly content: ArchivedContent;
  readonly srSopInstanceUID: string;
  readonly srSeriesInstanceUID: string;
  readonly verdict: ResultVerdict;
}

/** How far a stored score may be from calibrate(logit): the SR keeps the exact double (FD). */
export const SCORE_TOLERANCE = 1e-6;

/**
 * How far two verified scores of the same key may differ and still agree: the viewer (wasm or
 * WebGPU) and the worker (onnxruntime-node) compute the logit on different backends, whose float
 * results differ in the last digits; a difference above this is a different result.
 */
export const AGREEMENT_TOLERANCE = 1e-3;

/** What a reader checks results against: the model it has loaded and the calibrations it holds. */
export interface VerifyContext {
  /** The sha256 of the ONNX bytes this reader runs. */
  readonly modelSha256: string;
  /** The manifest's model.device_uid. */
  readonly deviceUID: string;
  /** The manifest (with that calibration applied) whose calibration identity is `identity`, or null when unknown here. */
  calibrationOf(identity: string): Promise<Manifest | null> | Manifest | null;
}

export type ResultVerdict =
  | { readonly status: 'verified' }
  | { readonly status: 'unverified'; readonly reason: string }
  /** Two or more verified SRs of the same image, model and calibration say different things. */
  | { readonly status: 'conflict'; readonly reason: string };

const short = (sha: string) => `${sha.toLowerCase().slice(0, 12)}…`;
const num = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(10))) : String(x));

/** The reason `content`, stored as SOP Instance `srSopInstanceUID`, is not a result ChestAid wrote; null when it verifies. */
export async function unverifiedReason(content: ArchivedContent, srSopInstanceUID: string, context: VerifyContext | null): Promise<string | null> {
  if (!context) return 'no model is loaded to check it against';
  const sha = content.model.sha256.toLowerCase();
  if (sha !== context.modelSha256.toLowerCase()) {
    return `made by model sha256 ${short(sha)}, not the model loaded here (${short(context.modelSha256)})`;
  }
  if (content.model.deviceUID !== context.deviceUID) {
    return `device UID ${content.model.deviceUID} is not this model's (${context.deviceUID})`;
  }
  const identity = content.calibration.version;
  let manifest: Manifest | null;
  try {
    manifest = await context.calibrationOf(identity);
  } catch (error) {
    return `its calibration ${identity} could not be looked up: ${messageOf(error)}`;
  }
  if (!manifest) return `calibration "${identity}" is not one this site holds`;
  const key = { sopInstanceUID: content.source.sopInstanceUID, modelSha256: sha, calibrationVersion: identity };
  if ((await revisionOf(content.source.studyInstanceUID, key, srSopInstanceUID)) === null) {
    return `its SOP Instance UID ${srSopInstanceUID} is not one ChestAid derives for image ${content.source.sopInstanceUID}, this model and calibration ${calibrationName(identity)}`;
  }
  const clinical = manifest.thresholds.clinical.value;
  if (!(Math.abs(content.threshold - clinical) <= SCORE_TOLERANCE)) {
    return `threshold ${num(content.threshold)} is not calibration ${calibrationName(identity)}'s clinical threshold (${num(clinical)})`;
  }
  const expected = calibrate(content.logit, manifest.calibration);
  if (!(Math.abs(content.score - expected) <= SCORE_TOLERANCE)) {
    return `score ${num(content.score)} is not calibration ${calibrationName(identity)} of its logit ${num(content.logit)} (${num(expected)})`;
  }
  const decision = content.score >= content.threshold ? 'above' : 'below';
  if (content.decision !== decision) {
    return `decision "${content.decision}" contradicts score ${num(content.score)} against threshold ${num(content.threshold)} ("${decision}")`;
  }
  return null;
}

/** An SR found in the PACS before it was judged. */
export type FoundResult = Omit<ArchivedResult, 'verdict'>;

function agree(a: ArchivedContent, b: ArchivedContent): boolean {
  return a.decision === b.decision && Math.abs(a.score - b.score) <= AGREEMENT_TOLERANCE;
}

const keyOf = ({ source, model, calibration }: ArchivedContent) => JSON.stringify([source.sopInstanceUID, model.sha256.toLowerCase(), calibration.version]);

/**
 * One result per image, model and calibration, each with its verdict. The verified SRs of a key
 * win over its unverified ones (a planted SR beside a true one changes nothing); verified SRs that
 * agree are one result (the lowest SOP Instance UID named, so every reader names the same); ones
 * that disagree are a conflict, whatever their dates. A key with only unverified SRs is one
 * unverified result, with the reason of each.
 */
export async function judgeResults(found: readonly FoundResult[], context: VerifyContext | null): Promise<ArchivedResult[]> {
  const byKey = new Map<string, { verified: FoundResult[]; unverified: { found: FoundResult; reason: string }[] }>();
  for (const result of found) {
    const key = keyOf(result.content);
    const entry = byKey.get(key) ?? { verified: [], unverified: [] };
    byKey.set(key, entry);
    const reason = await unverifiedReason(result.content, result.srSopInstanceUID, context);
    if (reason === null) entry.verified.push(result);
    else entry.unverified.push({ found: result, reason });
  }
  const judged: ArchivedResult[] = [];
  for (const { verified, unverified } of byKey.values()) {
    const byUid = (a: FoundResult, b: FoundResult) => (a.srSopInstanceUID < b.srSopInstanceUID ? -1 : a.srSopInstanceUID > b.srSopInstanceUID ? 1 : 0);
    if (verified.length > 0) {
      const sorted = [...verified].sort(byUid);
      const first = sorted[0];
      const others = sorted.filter(r => !agree(r.content, first.content));
      if (others.length === 0) {
        judged.push({ ...first, verdict: { status: 'verified' } });
      } else {
        const says = sorted.map(r => `${r.srSopInstanceUID}: ${num(r.content.score)} (${r.content.decision})`);
        judged.push({ ...first, verdict: { status: 'conflict', reason: `${sorted.length} verified ChestAid results of this image disagree: ${says.join('; ')}` } });
      }
      continue;
    }
    const sorted = [...unverified].sort((a, b) => byUid(a.found, b.found));
    const reason = sorted.map(u => (sorted.length > 1 ? `${u.found.srSopInstanceUID}: ${u.reason}` : u.reason)).join('; ');
    judged.push({ ...sorted[0].found, verdict: { status: 'unverified', reason } });
  }
  return judged;
}
