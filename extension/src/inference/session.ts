/**
 * One onnxruntime-web session for the model: created with the graph's names checked, run on one
 * batch-1 input with its outputs checked against the classifier contract, released without
 * throwing. The engine and the WebGPU self-check both go through these.
 */
import { messageOf } from '@chestaid/core';
import type { OrtLike, SessionLike, SessionOptionsLike } from './ort';
import { InferenceError, type InferenceConfig } from './protocol';

/** The graph's input and output names (the manifest's, else the classifier contract's). */
export interface Names {
  readonly input: string;
  readonly logit: string;
  readonly cam: string;
}

export function namesOf(config: InferenceConfig): Names {
  return { input: config.inputName ?? 'input', logit: config.logitName ?? 'logit', cam: config.camName ?? 'cam' };
}

/** Runs one batch-1 input and checks the outputs are what the classifier contract promises. */
export async function runOnce(ort: OrtLike, session: SessionLike, names: Names, input: Float32Array, dims: readonly number[]) {
  const outputs = await session.run({ [names.input]: new ort.Tensor('float32', input, dims) });
  const logit = outputs[names.logit];
  const cam = outputs[names.cam];
  if (!logit || !cam) {
    throw new InferenceError(`the model returned outputs ${JSON.stringify(Object.keys(outputs))}; expected ${names.logit} and ${names.cam}`);
  }
  if (!(logit.data instanceof Float32Array) || logit.data.length !== 1) {
    throw new InferenceError(`output ${names.logit} has shape ${JSON.stringify(logit.dims)}; expected [1, 1]`);
  }
  if (!(cam.data instanceof Float32Array) || cam.dims.length !== 3 || cam.dims[0] !== 1) {
    throw new InferenceError(`output ${names.cam} has shape ${JSON.stringify(cam.dims)}; expected [1, h, w]`);
  }
  // A copy of a few dozen floats: it owns its buffer, so it can be transferred to the page.
  return { logit: logit.data[0], cam: new Float32Array(cam.data), camDims: [cam.dims[1], cam.dims[2]] as const };
}

function checkNames(session: SessionLike, names: Names): void {
  const missing = [
    ...(!session.inputNames.includes(names.input) ? [`input ${names.input}`] : []),
    ...[names.logit, names.cam].filter(n => !session.outputNames.includes(n)).map(n => `output ${n}`),
  ];
  if (missing.length) {
    throw new InferenceError(
      `the model has no ${missing.join(', ')} (inputs ${JSON.stringify(session.inputNames)}, outputs ${JSON.stringify(session.outputNames)})`,
    );
  }
}

export async function release(session: SessionLike | null): Promise<void> {
  try {
    await session?.release();
  } catch {
    // Releasing after a failed GPU run can fail too; the session is abandoned either way.
  }
}

export async function createSession(
  ort: OrtLike,
  bytes: Uint8Array,
  provider: 'wasm' | 'webgpu',
  names: Names,
  config?: InferenceConfig,
): Promise<SessionLike> {
  let session: SessionLike;
  const options: SessionOptionsLike = { executionProviders: [provider] };
  if (config?.profileRuns) options.enableProfiling = true;
  try {
    session = await ort.InferenceSession.create(bytes, options);
  } catch (error) {
    throw new InferenceError(`could not create a ${provider} session for the model: ${messageOf(error)}`);
  }
  try {
    checkNames(session, names);
  } catch (error) {
    await release(session);
    throw error;
  }
  return session;
}

/** [C, H, W] of the model's input, from the session's metadata. */
export function inputShape(session: SessionLike, names: Names): number[] {
  const shape = session.inputMetadata?.find(m => m.name === names.input)?.shape?.slice(1);
  if (shape && shape.length === 3 && shape.every(d => typeof d === 'number' && d > 0)) return shape as number[];
  throw new InferenceError(
    `cannot tell the input size of ${names.input} from the model (${JSON.stringify(shape ?? null)}); give a referenceUrl for the self-check`,
  );
}
