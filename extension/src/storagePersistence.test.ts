import { askPersistentStorage } from './storagePersistence';

describe('askPersistentStorage', () => {
  it('does not ask again when the storage is already persistent', async () => {
    const asked: string[] = [];
    const storage = { persisted: async () => (asked.push('persisted'), true), persist: async () => (asked.push('persist'), true) };
    expect(await askPersistentStorage(storage)).toBe('persistent');
    expect(asked).toEqual(['persisted']);
  });

  it('asks persist() otherwise, and reports a refusal as best-effort', async () => {
    expect(await askPersistentStorage({ persisted: async () => false, persist: async () => true })).toBe('persistent');
    expect(await askPersistentStorage({ persisted: async () => false, persist: async () => false })).toBe('best-effort');
  });

  it('reports a browser without the StorageManager, or one that throws, as unavailable', async () => {
    expect(await askPersistentStorage(undefined)).toBe('unavailable');
    expect(await askPersistentStorage({})).toBe('unavailable');
    expect(await askPersistentStorage({ persisted: async () => Promise.reject(new Error('SecurityError')), persist: async () => true })).toBe('unavailable');
  });
});
