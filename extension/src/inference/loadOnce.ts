/**
 * An engine's load (engine.ts, tfjs/engine.ts): the first init() starts it, a later init() with
 * the same configuration shares it, one with another configuration is refused (a worker serves
 * one model; the page starts another worker for another). A load that fails is forgotten, so that
 * init() may try again once the host is fixed (a 404, a hash mismatch, the network).
 */
import { InferenceError } from './protocol';

export class LoadOnce<T> {
  private promise: Promise<T> | null = null;
  private key = '';
  private modelUrl = '';

  /** The load under way or done; null before the first init() and after a failed load. */
  get current(): Promise<T> | null {
    return this.promise;
  }

  /** The load a run waits for; an InferenceError when init() has not started one. */
  loaded(): Promise<T> {
    if (!this.promise) throw new InferenceError('the model is not loaded: init() must come first');
    return this.promise;
  }

  start<C extends { readonly modelUrl: string }>(config: C, load: () => Promise<T>): Promise<T> {
    const key = JSON.stringify(config);
    if (this.promise) {
      if (key !== this.key) {
        return Promise.reject(new InferenceError(`this worker already serves ${this.modelUrl} with another configuration; start another worker`));
      }
      return this.promise;
    }
    this.key = key;
    this.modelUrl = config.modelUrl;
    const promise = load();
    this.promise = promise;
    promise.catch(() => {
      if (this.promise === promise) this.promise = null;
    });
    return promise;
  }
}
