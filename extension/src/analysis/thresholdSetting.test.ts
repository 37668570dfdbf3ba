import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseManifest, type Manifest } from '@chestaid/core';
import { loadThreshold, resetThreshold, saveThreshold, thresholdStorageKey, type StorageLike } from './thresholdSetting';

const json = () => JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));
const manifest = parseManifest(json());
const clinical = manifest.thresholds.clinical.value;

interface ManifestJson {
  onnx: { sha256: string };
  calibration: { version: string };
}

function withChanges(change: (m: ManifestJson) => void): Manifest {
  const m = json();
  change(m);
  return parseManifest(m);
}

function memory(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  const storage: StorageLike = {
    getItem: key => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: key => void items.delete(key),
  };
  return { storage, items };
}

const blocked: StorageLike = {
  getItem: () => {
    throw new Error('SecurityError');
  },
  setItem: () => {
    throw new Error('QuotaExceededError');
  },
  removeItem: () => {
    throw new Error('SecurityError');
  },
};

describe('the reader\'s threshold', () => {
  it('is stored under the model id, its sha256 and the calibration version', () => {
    expect(thresholdStorageKey(manifest)).toBe(
      `chestaid:threshold:${manifest.model.id}:${manifest.onnx.sha256}:calibration-${manifest.calibration.version}`,
    );
  });

  it('defaults to the manifest\'s clinical threshold', () => {
    expect(loadThreshold(memory().storage, manifest)).toEqual({ value: clinical, clinical, custom: false });
    expect(loadThreshold(null, manifest)).toEqual({ value: clinical, clinical, custom: false });
  });

  it('comes back after a reload, and reset forgets it', () => {
    const { storage, items } = memory();
    expect(saveThreshold(storage, manifest, 0.3)).toEqual({ value: 0.3, clinical, custom: true });
    expect(loadThreshold(storage, manifest)).toEqual({ value: 0.3, clinical, custom: true });
    expect(resetThreshold(storage, manifest)).toEqual({ value: clinical, clinical, custom: false });
    expect(items.size).toBe(0);
  });

  it('does not carry over to another model file or another calibration', () => {
    const { storage } = memory();
    saveThreshold(storage, manifest, 0.3);
    const retrained = withChanges(m => (m.onnx.sha256 = 'a'.repeat(64)));
    const recalibrated = withChanges(m => (m.calibration.version = `${m.calibration.version}-recalibrated`));
    expect(loadThreshold(storage, retrained).value).toBe(retrained.thresholds.clinical.value);
    expect(loadThreshold(storage, recalibrated).custom).toBe(false);
  });

  it.each(['', 'abc', '1.5', '-0.1', 'NaN'])('ignores a stored value %p that is not in [0, 1]', stored => {
    const { storage } = memory({ [thresholdStorageKey(manifest)]: stored });
    expect(loadThreshold(storage, manifest)).toEqual({ value: clinical, clinical, custom: false });
  });

  it('refuses to save a value outside [0, 1], naming it', () => {
    expect(() => saveThreshold(memory().storage, manifest, 2)).toThrow(/got 2$/);
    expect(() => saveThreshold(memory().storage, manifest, Number.NaN)).toThrow(/got NaN/);
  });

  it('still works for the session where storage is blocked', () => {
    expect(loadThreshold(blocked, manifest).value).toBe(clinical);
    expect(saveThreshold(blocked, manifest, 0.2)).toEqual({ value: 0.2, clinical, custom: true });
    expect(resetThreshold(blocked, manifest).custom).toBe(false);
  });
});
