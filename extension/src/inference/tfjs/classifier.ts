/**
 * The demo model on TensorFlow.js's wasm backend, behind the core's Classifier interface: the
 * ONNX file's graph and weights (onnxModel.ts) compiled to TensorFlow.js ops (network.ts), its
 * outputs checked against the classifier contract as the onnxruntime adapter checks its own.
 */
import type { Classifier, ClassifierOutput } from '@chestaid/core';

import { InferenceError } from '../protocol';
import { Network } from './network';
import { readOnnxModel } from './onnxModel';

export interface GraphNames {
  readonly input: string;
  readonly logit: string;
  readonly cam: string;
}

export class TfjsClassifier implements Classifier {
  private constructor(private readonly network: Network, private readonly names: GraphNames) {}

  /** Reads and compiles the model; the TensorFlow.js backend must be started (runtime.ts). */
  static fromOnnx(bytes: Uint8Array, names: GraphNames): TfjsClassifier {
    const network = new Network(readOnnxModel(bytes));
    const missing = [
      ...(network.inputName !== names.input ? [`input ${names.input} (it has ${network.inputName})`] : []),
      ...[names.logit, names.cam].filter(n => !network.outputNames.includes(n)).map(n => `output ${n}`),
    ];
    if (missing.length) {
      network.dispose();
      throw new InferenceError(`the model has no ${missing.join(', ')} (outputs ${JSON.stringify(network.outputNames)})`);
    }
    return new TfjsClassifier(network, names);
  }

  async run(input: Float32Array, dims: readonly number[]): Promise<ClassifierOutput> {
    if (dims[0] !== 1) throw new InferenceError(`one image at a time: the batch is ${dims[0]}`);
    const out = await this.network.run(input, dims);
    const logit = out[this.names.logit];
    const cam = out[this.names.cam];
    if (logit.data.length !== 1) throw new InferenceError(`output ${this.names.logit} has shape ${JSON.stringify(logit.dims)}; expected [1, 1]`);
    if (cam.dims.length !== 3 || cam.dims[0] !== 1) throw new InferenceError(`output ${this.names.cam} has shape ${JSON.stringify(cam.dims)}; expected [1, h, w]`);
    return { logit: logit.data[0], cam: new Float32Array(cam.data), camDims: [cam.dims[1], cam.dims[2]] };
  }

  /** [1, C, H, W] from the graph, for a warm-up run; null where the graph does not say. */
  get inputDims(): number[] | null {
    return this.network.inputDims;
  }

  dispose(): void {
    this.network.dispose();
  }
}
