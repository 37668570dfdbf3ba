import { LatestOnly, SupersededError, resultKey } from './latestOnly';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const SHA = 'ab'.repeat(32);

describe('LatestOnly', () => {
  it('resolves a task that nothing superseded', async () => {
    const latest = new LatestOnly();
    const d = deferred<string>();
    const p = latest.run('viewport-1', { key: 'a', promise: d.promise });
    d.resolve('result a');
    await expect(p).resolves.toBe('result a');
    expect(latest.pendingKey('viewport-1')).toBeNull();
  });

  it('rejects the older task at once when a newer one starts in the same slot, and cancels it', async () => {
    const latest = new LatestOnly();
    const older = deferred<string>();
    const cancel = jest.fn();
    const p1 = latest.run('viewport-1', { key: 'image-1', promise: older.promise, cancel });
    const newer = deferred<string>();
    const p2 = latest.run('viewport-1', { key: 'image-2', promise: newer.promise });

    await expect(p1).rejects.toEqual(new SupersededError('viewport-1', 'image-1', 'image-2'));
    expect(cancel).toHaveBeenCalledTimes(1);
    expect(latest.pendingKey('viewport-1')).toBe('image-2');
    newer.resolve('result 2');
    await expect(p2).resolves.toBe('result 2');
  });

  it('never lets a late answer for an older request resolve the newer one', async () => {
    const latest = new LatestOnly();
    const older = deferred<string>();
    const newer = deferred<string>();
    const p1 = latest.run('panel', { key: 'image-1', promise: older.promise });
    const p2 = latest.run('panel', { key: 'image-2', promise: newer.promise });
    p1.catch(() => {});

    older.resolve('result 1'); // arrives first, late
    newer.resolve('result 2');
    await expect(p2).resolves.toBe('result 2');
    await expect(p1).rejects.toBeInstanceOf(SupersededError);
  });

  it('keeps tasks apart even when the same key is asked twice in a row', async () => {
    const latest = new LatestOnly();
    const first = deferred<number>();
    const second = deferred<number>();
    const p1 = latest.run('panel', { key: 'same', promise: first.promise });
    const p2 = latest.run('panel', { key: 'same', promise: second.promise });
    first.resolve(1);
    second.resolve(2);
    await expect(p1).rejects.toBeInstanceOf(SupersededError);
    await expect(p2).resolves.toBe(2);
  });

  it('does not let slots interfere', async () => {
    const latest = new LatestOnly();
    const a = deferred<string>();
    const b = deferred<string>();
    const pa = latest.run('left', { key: 'x', promise: a.promise });
    const pb = latest.run('right', { key: 'y', promise: b.promise });
    b.resolve('right result');
    a.resolve('left result');
    await expect(pa).resolves.toBe('left result');
    await expect(pb).resolves.toBe('right result');
  });

  it('passes on the failure of the current task', async () => {
    const latest = new LatestOnly();
    const d = deferred<string>();
    const p = latest.run('panel', { key: 'x', promise: d.promise });
    d.reject(new Error('model file not found'));
    await expect(p).rejects.toThrow('model file not found');
    expect(latest.pendingKey('panel')).toBeNull();
  });

  it('ignores the failure of a superseded task', async () => {
    const latest = new LatestOnly();
    const older = deferred<string>();
    const newer = deferred<string>();
    const p1 = latest.run('panel', { key: 'a', promise: older.promise });
    const p2 = latest.run('panel', { key: 'b', promise: newer.promise });
    older.reject(new Error('late failure'));
    newer.resolve('b');
    await expect(p1).rejects.toBeInstanceOf(SupersededError);
    await expect(p2).resolves.toBe('b');
  });
});

describe('resultKey', () => {
  it('names the image and the exact model bytes', () => {
    expect(resultKey('1.2.3.4', SHA.toUpperCase())).toBe(`1.2.3.4@sha256:${SHA}`);
  });

  it('refuses a key without a full sha256, naming the value', () => {
    expect(() => resultKey('1.2.3', 'abc')).toThrow('"abc"');
    expect(() => resultKey('', SHA)).toThrow('SOPInstanceUID');
  });
});
