import { LoadOnce } from './loadOnce';
import { InferenceError } from './protocol';

const A = { modelUrl: 'https://h/a.onnx', numThreads: 2 };

describe('LoadOnce', () => {
  it('says the model is not loaded before any start', () => {
    expect(() => new LoadOnce<string>().loaded()).toThrow(new InferenceError('the model is not loaded: init() must come first'));
  });

  it('starts one load for the same configuration and shares it', async () => {
    const once = new LoadOnce<string>();
    const load = jest.fn(() => Promise.resolve('ready'));
    expect(once.current).toBeNull();
    const [first, second] = await Promise.all([once.start(A, load), once.start({ ...A }, load)]);
    expect([first, second]).toEqual(['ready', 'ready']);
    expect(load).toHaveBeenCalledTimes(1);
    expect(once.current).not.toBeNull();
  });

  it('refuses another configuration, naming the model it serves', async () => {
    const once = new LoadOnce<string>();
    await once.start(A, () => Promise.resolve('ready'));
    const refused = once.start({ ...A, numThreads: 1 }, () => Promise.resolve('other'));
    await expect(refused).rejects.toBeInstanceOf(InferenceError);
    await expect(refused).rejects.toThrow('this worker already serves https://h/a.onnx with another configuration');
  });

  it('forgets a failed load, so that the next start loads again, with any configuration', async () => {
    const once = new LoadOnce<string>();
    await expect(once.start(A, () => Promise.reject(new Error('404')))).rejects.toThrow('404');
    expect(once.current).toBeNull();
    await expect(once.start({ ...A, numThreads: 1 }, () => Promise.resolve('second'))).resolves.toBe('second');
  });
});
