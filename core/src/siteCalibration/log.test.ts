import { MemorySiteCalibrationStore } from './memoryStores';
import {
  SiteCalibrationLog,
  ConflictError,
  CorruptLogError,
  unchangedDraft,
  type SiteCalibrationStore,
} from './log';
import {
  EMPTY_HEAD,
  GENESIS_HASH,
  canonicalJson,
  entryHash,
  overlayHash,
  sha256Hex,
  sealEntry,
  verifyLog,
  type AuditEntry,
} from './chain';
import { UntrustedLogError, VolatileHeadMemory } from './trust';
import { parseOverlay, type CalibrationOverlay } from './overlay';
import { DEMO_SHA, demoManifest, demoManifestJson, overlayJson } from '../testing/overlays';
import { parseManifest } from '../manifest';

const manifest = demoManifest();
const clock = () => new Date('2026-11-26T12:30:00Z');

function versionsOver(store = new MemorySiteCalibrationStore()) {
  return { store, versions: new SiteCalibrationLog({ store, manifest, clock }) };
}

/** A log with three entries: accept site-1, accept site-2, roll back to site-1. */
async function threeEntryLog() {
  const made = versionsOver();
  const { versions } = made;
  await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
  let { head } = await versions.history();
  await versions.accept(overlayJson({ version: 'site-2', previous_version: 'site-1', calibration: { input: 'logit', method: 'temperature', params: { temperature: 1.7 }, selection: { metric: 'ece', n_bins: 15, binning: 'equal-width', validation: 'held-out 30 %' } } }), { actor: 'Dr B', expectedHead: head });
  ({ head } = await versions.history());
  await versions.rollbackTo('site-1', { actor: 'Dr A', expectedHead: head });
  return made;
}

describe('canonicalJson and sha256Hex', () => {
  it('sorts keys at every level and refuses what JSON cannot hold', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: null, e: 'x' }], c: true } })).toBe('{"a":{"c":true,"d":[1,{"e":"x","f":null}]},"b":1}');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow('canonical JSON cannot hold NaN at $.a');
    expect(() => canonicalJson({ a: undefined })).toThrow('canonical JSON cannot hold undefined at $.a');
  });

  it('hashes with WebCrypto sha256', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('SiteCalibrationLog over an append-only log', () => {
  it('starts on the manifest calibration with an empty log', async () => {
    const { versions } = versionsOver();
    const history = await versions.history();
    expect(history).toMatchObject({ active: '1', versions: ['1'], head: EMPTY_HEAD, entries: [] });
    expect((await versions.manifestOf()).manifest).toBe(manifest);
    expect(await versions.nextVersion()).toBe('site-1');
  });

  it('accepts an overlay: one chained entry recording who, when, cohort, method, params, metrics and the previous version', async () => {
    const { versions, store } = versionsOver();
    const entry = await versions.accept(overlayJson(), { actor: ' Dr A ', expectedHead: EMPTY_HEAD });
    expect(entry).toMatchObject({
      seq: 1,
      at: '2026-11-26T12:30:00.000Z',
      actor: 'Dr A',
      action: 'accept',
      version: 'site-1',
      previousVersion: '1',
      cohort: { n: 200, sha256: 'a'.repeat(64) },
      method: 'platt',
      params: { a: 0.8, b: -0.4 },
      threshold: 0.62,
      metricsBefore: { ece: 0.21, brier: 0.19, n: 200 },
      metricsAfter: { ece: 0.05, brier: 0.12, n: 200 },
      modelSha256: DEMO_SHA,
      prevHash: GENESIS_HASH,
    });
    expect(entry.hash).toBe(await entryHash(entry));
    expect(store.entries).toHaveLength(1);
    const { manifest: active, history } = await versions.manifestOf();
    expect(history.active).toBe('site-1');
    expect(active.calibration.version).toBe('site-1');
    expect(active.thresholds.clinical.value).toBe(0.62);
  });

  it('refuses an overlay that skips a version or was fitted against another active version', async () => {
    const { versions } = versionsOver();
    await expect(versions.accept(overlayJson({ version: 'site-2' }), { actor: 'A', expectedHead: EMPTY_HEAD })).rejects.toThrow(
      'calibration overlay version "site-2" cannot be accepted: the next version of this log is "site-1"',
    );
    await expect(versions.accept(overlayJson({ previous_version: 'site-9' }), { actor: 'A', expectedHead: EMPTY_HEAD })).rejects.toThrow(
      'was made against version "site-9", but "1" is active; refit against it',
    );
    await expect(versions.accept(overlayJson(), { actor: ' ', expectedHead: EMPTY_HEAD })).rejects.toThrow('a calibration change needs who made it');
  });

  it('gives the second of two admins a ConflictError naming the first change, and loses neither', async () => {
    const { versions, store } = versionsOver();
    const reviewed = (await versions.history()).head;
    // Both were prepared on the same head and race; which append lands first is up to the hashing
    // (WebCrypto runs off the main thread), so the test names the winner after the fact.
    const settled = await Promise.allSettled([
      versions.accept(overlayJson({ created: { by: 'Dr A', at: '2026-11-26T12:00:00Z' } }), { actor: 'Dr A', expectedHead: reviewed }),
      versions.accept(overlayJson({ created: { by: 'Dr B', at: '2026-11-26T12:01:00Z' } }), { actor: 'Dr B', expectedHead: reviewed }),
    ]);
    const won = settled.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = settled.flatMap(r => (r.status === 'rejected' ? [r.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = won[0].actor;
    expect(lost[0]).toBeInstanceOf(ConflictError);
    expect((lost[0] as Error).message).toBe(
      `calibration site-1 was accepted by ${winner} at 2026-11-26T12:30:00.000Z (log entry 1) while this change was prepared on entry 0; reload and review`,
    );
    expect(store.entries).toHaveLength(1);
    expect((store.overlays.get('site-1') as { created: { by: string } }).created.by).toBe(winner);
  });

  it('makes the store refuse an entry that does not sit on its head, even when the caller skipped the check', async () => {
    const { store, versions } = versionsOver();
    const entry = await versions.accept(overlayJson(), { actor: 'A', expectedHead: EMPTY_HEAD });
    await expect(store.append(entry)).rejects.toThrow(ConflictError);
    expect(store.entries).toHaveLength(1);
  });

  it('rolls back with a new entry that activates the earlier version, deleting nothing', async () => {
    const { versions, store } = await threeEntryLog();
    const history = await versions.history();
    expect(history.entries.map(e => [e.seq, e.action, e.version, e.previousVersion])).toEqual([
      [1, 'accept', 'site-1', '1'],
      [2, 'accept', 'site-2', 'site-1'],
      [3, 'rollback', 'site-1', 'site-2'],
    ]);
    expect(history.active).toBe('site-1');
    expect(store.overlays.size).toBe(2);
    expect(history.entries[2]).toMatchObject({ method: 'platt', threshold: 0.62, cohort: { n: 200 }, metricsBefore: null });
    expect((await versions.manifestOf()).manifest.calibration.selected).toBe('platt');
    await versions.rollbackTo('1', { actor: 'Dr C', expectedHead: history.head });
    const back = await versions.manifestOf();
    expect(back.history.active).toBe('1');
    expect(back.manifest).toBe(manifest);
    expect(back.history.entries.at(-1)).toMatchObject({ action: 'rollback', version: '1', cohort: null, overlaySha256: null, method: manifest.calibration.selected });
    // The next accept continues the numbering: versions are never reused.
    expect(await versions.nextVersion()).toBe('site-3');
  });

  it('refuses a rollback to a version that never existed or is already active', async () => {
    const { versions } = await threeEntryLog();
    const { head } = await versions.history();
    await expect(versions.rollbackTo('site-7', { actor: 'A', expectedHead: head })).rejects.toThrow(
      'cannot roll back to calibration version "site-7": this model has "1", "site-1", "site-2"',
    );
    await expect(versions.rollbackTo('site-1', { actor: 'A', expectedHead: head })).rejects.toThrow('calibration version "site-1" is already active');
  });
});

describe('verifyLog', () => {
  const options = { modelSha256: DEMO_SHA, baseVersion: '1' };

  it('verifies an untouched log', async () => {
    const { store } = await threeEntryLog();
    const check = await verifyLog(store.entries, options);
    expect(check.ok).toBe(true);
  });

  it.each([
    ['a changed threshold', 2, (e: AuditEntry[]) => ({ ...e[1], threshold: 0.1 }), /entry 2: its content does not match its hash/],
    ['a changed actor', 1, (e: AuditEntry[]) => ({ ...e[0], actor: 'Mallory' }), /entry 1: its content does not match its hash/],
    ['an unknown field', 3, (e: AuditEntry[]) => ({ ...e[2], note: 'x' }), /entry 3: it has unknown fields note/],
  ])('names the entry with %s', async (_what, k, tamper, message) => {
    const { store, versions } = await threeEntryLog();
    store.entries[k - 1] = tamper(store.entries as AuditEntry[]);
    const check = await verifyLog(store.entries, options);
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.position).toBe(k);
      expect(check.validPrefix).toHaveLength(k - 1);
    }
    await expect(versions.history()).rejects.toThrow(message);
  });

  it('catches an entry removed from the middle and a rehashed entry whose successor no longer chains', async () => {
    const { store } = await threeEntryLog();
    const cut = [store.entries[0], store.entries[2]];
    expect(await verifyLog(cut, options)).toMatchObject({ ok: false, position: 2, problem: expect.stringMatching(/seq is 3 where 2 was expected/) });
    const forged = { ...(store.entries[1] as AuditEntry), threshold: 0.1 };
    const rehashed = { ...forged, hash: await entryHash(forged) };
    expect(await verifyLog([store.entries[0], rehashed, store.entries[2]], options)).toMatchObject({
      ok: false,
      position: 3,
      problem: expect.stringMatching(/prevHash .* does not match entry 2's hash/),
    });
  });

  it('catches an unreadable line and an entry for other model bytes', async () => {
    const { store } = await threeEntryLog();
    expect(await verifyLog([store.entries[0], { unreadable: 'line 2 is not JSON' }], options)).toMatchObject({
      ok: false,
      position: 2,
      problem: 'it cannot be read (line 2 is not JSON)',
    });
    expect(await verifyLog(store.entries, { ...options, modelSha256: 'd'.repeat(64) })).toMatchObject({ ok: false, position: 1 });
  });

  it('blocks every change on a corrupt log and leaves the log exactly as it was', async () => {
    const { store, versions } = await threeEntryLog();
    store.entries[1] = { ...(store.entries[1] as AuditEntry), actor: 'Mallory' };
    const before = JSON.stringify(store.entries);
    const head = { seq: 3, hash: (store.entries[2] as AuditEntry).hash };
    await expect(versions.accept(overlayJson({ version: 'site-3', previous_version: 'site-1' }), { actor: 'A', expectedHead: head })).rejects.toThrow(CorruptLogError);
    await expect(versions.rollbackTo('1', { actor: 'A', expectedHead: head })).rejects.toThrow(
      /^the calibration audit log is corrupt at entry 2: .*No calibration change can be made until it is restored from a backup; the log is never rewritten\.$/,
    );
    expect(JSON.stringify(store.entries)).toBe(before);
  });

  it('catches an overlay changed after it was accepted', async () => {
    const { store, versions } = await threeEntryLog();
    const changed = structuredClone(store.overlays.get('site-1')) as { threshold: { value: number } };
    changed.threshold.value = 0.3;
    store.overlays.set('site-1', changed);
    await expect(versions.manifestOf()).rejects.toThrow(/corrupt at entry 1: the stored overlay of version "site-1" does not match the hash the log recorded/);
  });
});

/** A memory store that a test can delete, as a disk or a person might. */
class DeletableStore implements SiteCalibrationStore {
  deleted = false;
  constructor(readonly memory = new MemorySiteCalibrationStore()) {}
  get entries() {
    return this.memory.entries;
  }
  async readEntries() {
    return this.deleted ? null : this.memory.readEntries();
  }
  readOverlay(version: string) {
    return this.memory.readOverlay(version);
  }
  append(entry: AuditEntry, overlay?: CalibrationOverlay) {
    return this.memory.append(entry, overlay);
  }
}

describe('a reader that remembers the head it trusted', () => {
  async function trustedReader() {
    const { store } = await threeEntryLog();
    const deletable = new DeletableStore(store);
    const memory = new VolatileHeadMemory('this viewer');
    const reader = new SiteCalibrationLog({ store: deletable, manifest, clock, trusted: memory });
    const { head } = await reader.history();
    return { store: deletable, memory, reader, head };
  }

  it('remembers the head it verified, and follows the log as it grows', async () => {
    const { memory, reader, store, head } = await trustedReader();
    expect(await memory.recall()).toEqual({ ...head, at: '2026-11-26T12:30:00.000Z' });
    await new SiteCalibrationLog({ store, manifest, clock }).accept(overlayJson({ version: 'site-3', previous_version: 'site-1' }), { actor: 'Dr C', expectedHead: head });
    expect((await reader.history()).head.seq).toBe(4);
    expect((await memory.recall())?.seq).toBe(4);
  });

  it('fails closed on a deleted log, naming the entry it had trusted', async () => {
    const { reader, store, head } = await trustedReader();
    store.deleted = true;
    const failure = reader.manifestOf();
    await expect(failure).rejects.toBeInstanceOf(UntrustedLogError);
    await expect(failure).rejects.toMatchObject({ kind: 'missing' });
    await expect(reader.history()).rejects.toThrow(
      `the calibration log is missing: the calibration log does not exist, but this viewer trusted its entry 3 (hash ${head.hash.slice(0, 12)}…) on 2026-11-26T12:30:00.000Z: it was deleted`,
    );
  });

  it('fails closed on a log whose last entries were cut, though what is left verifies', async () => {
    const { reader, store } = await trustedReader();
    store.entries.pop();
    expect((await verifyLog(await store.readEntries() as AuditEntry[])).ok).toBe(true);
    await expect(reader.manifestOf()).rejects.toMatchObject({ kind: 'truncated' });
    await expect(reader.history()).rejects.toThrow(/the calibration log is truncated: it ends at entry 2, but this viewer trusted entry 3 .*restore it from a backup/);
  });

  it('fails closed on a log rewound to an earlier entry and written on again', async () => {
    const { reader, store } = await trustedReader();
    store.entries.pop();
    const writer = new SiteCalibrationLog({ store, manifest, clock });
    await writer.rollbackTo('1', { actor: 'Dr Mallory', expectedHead: (await writer.history()).head });
    await expect(reader.manifestOf()).rejects.toMatchObject({ kind: 'rewound' });
    await expect(reader.history()).rejects.toThrow(/the calibration log is rewound: its entry 3 has hash [0-9a-f]{12}…, but this viewer trusted [0-9a-f]{12}… there/);
  });

  it('without a memory, reads a missing log as missing, never as the manifest calibration', async () => {
    const store = new DeletableStore();
    store.deleted = true;
    await expect(new SiteCalibrationLog({ store, manifest }).manifestOf()).rejects.toThrow(/the calibration log is missing: .*chestaid-recalibrate --init/);
  });
});

describe('the minimum target sensitivity', () => {
  const target = (value: number, more: Record<string, unknown> = {}) =>
    overlayJson({ ...more, threshold: { value: 0.62, rule: 'site rule', target_sensitivity: value, interval: { ci_low: 0.55, ci_high: 0.7, level: 0.95, n_boot: 1000 } } });

  it("is the manifest's clinical target: an overlay targeting less is refused with the reason, and nothing is written", async () => {
    const { store, versions } = versionsOver();
    expect((await versions.history()).minTargetSensitivity).toBe(0.9);
    await expect(versions.accept(target(0.85), { actor: 'Dr A', expectedHead: EMPTY_HEAD })).rejects.toThrow(
      'calibration overlay "site-1" is refused: it targets sensitivity 0.85, below the minimum 0.9 this model\'s calibration may target',
    );
    expect(store.entries).toHaveLength(0);
    await versions.accept(target(0.9), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
  });

  it('is raised by a policy entry, never lowered, and never above what the active calibration targets', async () => {
    const { versions } = versionsOver();
    await expect(versions.raiseMinimum(0.95, { actor: 'Dr A', expectedHead: EMPTY_HEAD })).rejects.toThrow(
      'the active calibration "1" targets sensitivity 0.9, below 0.95: recalibrate at 0.95 or more first',
    );
    await expect(versions.raiseMinimum(0.8, { actor: 'Dr A', expectedHead: EMPTY_HEAD })).rejects.toThrow(
      "the minimum target sensitivity can only be raised: 0.8 is not above the current 0.9 (the manifest's clinical target)",
    );
    const accepted = await versions.accept(target(0.96), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    const policy = await versions.raiseMinimum(0.95, { actor: 'Dr B', expectedHead: { seq: 1, hash: accepted.hash } });
    expect(policy).toMatchObject({ action: 'policy', version: 'site-1', previousVersion: 'site-1', minTargetSensitivity: 0.95, threshold: 0.62, overlaySha256: accepted.overlaySha256 });
    const history = await versions.history();
    expect(history).toMatchObject({ active: 'site-1', minTargetSensitivity: 0.95 });
    // Every later change is held to it: a refit at 0.9, and a rollback to the manifest's 0.9.
    await expect(versions.accept(target(0.9, { version: 'site-2', previous_version: 'site-1' }), { actor: 'Dr A', expectedHead: history.head })).rejects.toThrow(/below the minimum 0.95/);
    await expect(versions.rollbackTo('1', { actor: 'Dr A', expectedHead: history.head })).rejects.toThrow(
      'cannot roll back to calibration version "1": it targets sensitivity 0.9, below the minimum 0.95',
    );
    await expect(versions.raiseMinimum(0.93, { actor: 'Dr A', expectedHead: history.head })).rejects.toThrow(/can only be raised: 0.93 is not above the current 0.95$/);
  });

  it('is checked on read: a log whose entries lower it, or an active calibration below it, is refused', async () => {
    const { store, versions } = versionsOver();
    // Written past SiteCalibrationLog, as a hand-edited log would be: hashes valid, policy ignored.
    const overlay = parseOverlay(target(0.8));
    const accept = await sealEntry({
      ...unchangedDraft(null, manifest, DEMO_SHA), seq: 1, at: '2026-11-26T12:00:00Z', actor: 'Dr Mallory', action: 'accept',
      version: 'site-1', overlaySha256: await overlayHash(overlay), prevHash: GENESIS_HASH,
    });
    await store.append(accept, overlay);
    await expect(versions.manifestOf()).rejects.toThrow('the active calibration "site-1" cannot be used: it targets sensitivity 0.8, below the minimum 0.9');
    const lower = await sealEntry({
      ...unchangedDraft(accept, manifest, DEMO_SHA), seq: 2, at: '2026-11-26T12:01:00Z', actor: 'Dr Mallory', action: 'policy', prevHash: accept.hash, minTargetSensitivity: 0.5,
    });
    await store.append(lower);
    await expect(versions.history()).rejects.toThrow('corrupt at entry 2: it sets the minimum target sensitivity to 0.5, not above 0.9: the minimum is only ever raised');
  });
});

describe("a manifest that selects 'none' (schema 1.4.0)", () => {
  it("records 'none' and its clip as the calibration in force", () => {
    const clip = { low: 1 / 202, high: 1 - 1 / 202 };
    const json = demoManifestJson();
    const calibration = json.calibration as { methods: Record<string, { metrics: unknown }> };
    const base = parseManifest({
      ...json,
      calibration: { ...calibration, selected: 'none', methods: { ...calibration.methods, none: { params: { clip }, metrics: calibration.methods.platt.metrics } } },
    });
    expect(unchangedDraft(null, base, DEMO_SHA)).toMatchObject({ method: 'none', params: { clip } });
  });
});
