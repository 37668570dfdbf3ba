import { IDBFactory } from 'fake-indexeddb';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  type AuditEntry,
  type SiteCalibrationStore,
  SiteCalibrationLog,
  ConflictError,
  CorruptLogError,
  EMPTY_HEAD,
  GENESIS_HASH,
  MemorySiteCalibrationStore,
  overlayHash,
  parseOverlay,
  sealEntry,
  TornLogError,
  UntrustedLogError,
} from '@chestaid/core';
import { DEMO_SHA, demoManifest, overlayJson } from '@chestaid/core/testing';
import { FileSiteCalibrationStore, LOCK_FILE } from '@chestaid/core/node';
import { IndexedDbSiteCalibrationStore, SiteDatabase } from './indexedDbStores';

const manifest = demoManifest();
const tempDir = () => mkdtempSync(join(tmpdir(), 'chestaid-calibration-'));

/** A file store over an initialised (empty) log, as `chestaid-recalibrate --init` leaves it. */
async function fileStore(dir = tempDir(), options: { lockTimeoutMs?: number } = {}): Promise<FileSiteCalibrationStore> {
  const store = new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA, ...options });
  if (!(await fs.access(join(dir, 'log.jsonl')).then(() => true, () => false))) await store.init('1');
  return store;
}

const stores: [string, () => Promise<SiteCalibrationStore>][] = [
  ['MemorySiteCalibrationStore', async () => new MemorySiteCalibrationStore()],
  ['IndexedDbSiteCalibrationStore (fake-indexeddb)', async () => new IndexedDbSiteCalibrationStore(DEMO_SHA, new SiteDatabase({ indexedDB: new IDBFactory() }))],
  ['FileSiteCalibrationStore (temp dir)', () => fileStore()],
];

describe.each(stores)('%s', (_name, makeStore) => {
  const site2 = () =>
    overlayJson({
      version: 'site-2',
      previous_version: 'site-1',
      calibration: { input: 'logit', method: 'temperature', params: { temperature: 1.4 }, selection: { metric: 'ece', n_bins: 10, binning: 'equal-width', validation: 'held-out 30 %' } },
    });

  it('keeps entries and overlays across objects over the same storage, and derives the active version', async () => {
    const store = await makeStore();
    const versions = new SiteCalibrationLog({ store, manifest });
    await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    let history = await versions.history();
    await versions.accept(site2(), { actor: 'Dr A', expectedHead: history.head });
    history = await versions.history();
    await versions.rollbackTo('1', { actor: 'Dr B', expectedHead: history.head });
    const entries = (await store.readEntries()) as AuditEntry[];
    expect(entries.map(e => `${e.seq}:${e.action}:${e.version}`)).toEqual(['1:accept:site-1', '2:accept:site-2', '3:rollback:1']);
    expect(await store.readOverlay('site-2')).toMatchObject({ version: 'site-2', calibration: { method: 'temperature' } });
    expect(await store.readOverlay('site-9')).toBeNull();
    const fresh = new SiteCalibrationLog({ store, manifest });
    expect((await fresh.history()).active).toBe('1');
    expect((await fresh.manifestOf('site-2')).manifest.calibration.methods.temperature.params).toEqual({ temperature: 1.4 });
  });

  it('appends only on its head: a second entry on the same head is a ConflictError and nothing of it is stored', async () => {
    const store = await makeStore();
    const a = new SiteCalibrationLog({ store, manifest });
    const b = new SiteCalibrationLog({ store, manifest });
    const results = await Promise.allSettled([
      a.accept(overlayJson({ created: { by: 'Dr A', at: '2026-11-26T12:00:00Z' } }), { actor: 'Dr A', expectedHead: EMPTY_HEAD }),
      b.accept(overlayJson({ created: { by: 'Dr B', at: '2026-11-26T12:00:01Z' } }), { actor: 'Dr B', expectedHead: EMPTY_HEAD }),
    ]);
    const fulfilled = results.filter(r => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0].reason).toBeInstanceOf(ConflictError);
    expect(rejected[0].reason.message).toMatch(/^calibration site-1 was accepted by Dr [AB] at .* \(log entry 1\) while this change was prepared on entry 0; reload and review$/);
    const entries = (await store.readEntries()) as AuditEntry[];
    expect(entries).toHaveLength(1);
    const winner = (fulfilled[0] as PromiseFulfilledResult<AuditEntry>).value;
    expect(entries[0]).toEqual(winner);
    expect(await store.readOverlay('site-1')).toMatchObject({ created: { by: winner.actor } });
  });

  it('lets exactly one of two racing raw appends on the same head through (the store, not the caller, decides)', async () => {
    const store = await makeStore();
    const overlay = parseOverlay(overlayJson());
    const draft = {
      seq: 1, at: '2026-11-26T12:00:00.000Z', action: 'accept' as const, version: 'site-1', previousVersion: '1',
      cohort: { n: 200, sha256: 'a'.repeat(64) }, method: 'platt' as const, params: { a: 0.8, b: -0.4 }, threshold: 0.62,
      metricsBefore: null, metricsAfter: null, modelSha256: DEMO_SHA, overlaySha256: await overlayHash(overlay), prevHash: GENESIS_HASH,
    };
    const [a, b] = await Promise.all([sealEntry({ ...draft, actor: 'Dr A' }), sealEntry({ ...draft, actor: 'Dr B' })]);
    const results = await Promise.allSettled([store.append(a, overlay), store.append(b, overlay)]);
    expect(results.map(r => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find(r => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(await store.readEntries()).toHaveLength(1);
  });

  it('refuses an entry whose overlay version is already stored, and stores neither of them', async () => {
    const store = await makeStore();
    const versions = new SiteCalibrationLog({ store, manifest });
    const first = await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    const again = parseOverlay(overlayJson({ created: { by: 'Dr B', at: '2026-11-26T13:00:00Z' } }));
    const entry = await sealEntry({
      seq: 2, at: '2026-11-26T13:00:00.000Z', actor: 'Dr B', action: 'accept', version: 'site-1', previousVersion: 'site-1',
      cohort: { n: 200, sha256: 'b'.repeat(64) }, method: 'platt', params: { a: 0.8, b: -0.4 }, threshold: 0.62,
      metricsBefore: null, metricsAfter: null, modelSha256: DEMO_SHA, overlaySha256: await overlayHash(again), prevHash: first.hash,
    });
    await expect(store.append(entry, again)).rejects.toThrow(/site-1/);
    expect(await store.readEntries()).toEqual([first]);
    expect(await store.readOverlay('site-1')).toMatchObject({ created: { by: 'Dr Admin' } });
  });
});

describe('FileSiteCalibrationStore', () => {
  it('writes one canonical JSON line per entry, the overlay file and the active pointer', async () => {
    const dir = tempDir();
    const store = await fileStore(dir);
    const versions = new SiteCalibrationLog({ store, manifest });
    const entry = await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    const log = await fs.readFile(join(dir, 'log.jsonl'), 'utf8');
    expect(log.endsWith('\n')).toBe(true);
    expect(log.trim().split('\n').map(line => JSON.parse(line))).toEqual([entry]);
    expect(await store.readActive()).toEqual({ model_sha256: DEMO_SHA, version: 'site-1', head: { seq: 1, hash: entry.hash }, overlay: expect.objectContaining({ version: 'site-1' }) });
    await versions.rollbackTo('1', { actor: 'Dr A', expectedHead: { seq: 1, hash: entry.hash } });
    expect(await store.readActive()).toMatchObject({ version: '1', head: { seq: 2 }, overlay: null });
    await expect(fs.access(join(dir, LOCK_FILE))).rejects.toThrow();
  });

  it('serialises two appenders on separate store objects through the lock file: one wins, one conflicts, the log verifies', async () => {
    const dir = tempDir();
    await fileStore(dir);
    const appenders = ['Dr A', 'Dr B', 'Dr C'].map(actor => ({
      actor,
      versions: new SiteCalibrationLog({ store: new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA }), manifest }),
    }));
    const results = await Promise.allSettled(
      appenders.map(({ actor, versions }) => versions.accept(overlayJson({ created: { by: actor, at: '2026-11-26T12:00:00Z' } }), { actor, expectedHead: EMPTY_HEAD })),
    );
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter(r => r.status === 'rejected' && r.reason instanceof ConflictError)).toHaveLength(2);
    const reader = new SiteCalibrationLog({ store: new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA }), manifest });
    expect((await reader.history()).entries).toHaveLength(1);
    expect((await fs.readdir(join(dir, 'overlays'))).filter(n => n.endsWith('.json'))).toEqual(['site-1.json']);
  });

  it('waits for a held lock and then says who holds it', async () => {
    const dir = tempDir();
    await fileStore(dir);
    await fs.writeFile(join(dir, LOCK_FILE), 'pid 1234 on ward-pc since 2026-11-26T12:00:00Z\n');
    const versions = new SiteCalibrationLog({ store: new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA, lockTimeoutMs: 60 }), manifest });
    await expect(versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD })).rejects.toThrow(
      /log\.jsonl is locked \(pid 1234 on ward-pc since 2026-11-26T12:00:00Z\) for more than 60 ms; if no ChestAid CLI is running, delete .*\.lock/,
    );
    expect(await fs.readFile(join(dir, LOCK_FILE), 'utf8')).toContain('pid 1234');
  });

  it('refuses to append to a log with a damaged line and leaves its bytes untouched', async () => {
    const dir = tempDir();
    const store = await fileStore(dir);
    const versions = new SiteCalibrationLog({ store, manifest });
    const first = await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    const second = await versions.rollbackTo('1', { actor: 'Dr A', expectedHead: { seq: 1, hash: first.hash } });
    const path = join(dir, 'log.jsonl');
    const damaged = (await fs.readFile(path, 'utf8')).replace('"actor":"Dr A"', '"actor":"Dr Z"');
    await fs.writeFile(path, damaged);
    await expect(versions.history()).rejects.toThrow(/corrupt at entry 1: its content does not match its hash/);
    // Even a store-level append that skips SiteCalibrationLog is refused.
    await expect(store.append({ ...second, seq: 3, prevHash: second.hash })).rejects.toThrow(CorruptLogError);
    expect(await fs.readFile(path, 'utf8')).toBe(damaged);
  });

  it('reports a torn last line as an interrupted write, with the way to repair it', async () => {
    const dir = tempDir();
    const store = await fileStore(dir);
    await new SiteCalibrationLog({ store, manifest }).accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    await fs.appendFile(join(dir, 'log.jsonl'), '{"seq":2,"at":');
    const failure = new SiteCalibrationLog({ store, manifest }).history();
    await expect(failure).rejects.toBeInstanceOf(TornLogError);
    await expect(failure).rejects.toThrow(
      /the calibration audit log is torn: its last line \(entry 2\) is incomplete, an interrupted write \(line 2 of log\.jsonl is incomplete \(no newline\)\)\..*chestaid-recalibrate --repair/,
    );
  });

  it('reads a log that does not exist as missing, never as an empty one, and appends nothing to it', async () => {
    const dir = tempDir();
    const store = new FileSiteCalibrationStore(join(dir, 'calibration'), { modelSha256: DEMO_SHA });
    expect(await store.readEntries()).toBeNull();
    const versions = new SiteCalibrationLog({ store, manifest });
    await expect(versions.history()).rejects.toThrow(/the calibration log is missing: the calibration log .*log\.jsonl does not exist: .*chestaid-recalibrate --init/);
    await expect(versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD })).rejects.toBeInstanceOf(UntrustedLogError);
    await expect(fs.access(join(dir, 'calibration', 'log.jsonl'))).rejects.toThrow();
    await store.init('1');
    await expect(store.init('1')).rejects.toThrow(/already exists; a calibration log is never replaced/);
    expect(await versions.history()).toMatchObject({ active: '1', head: EMPTY_HEAD });
  });
});

describe('IndexedDbSiteCalibrationStore', () => {
  it('keeps each model in its own chain in one database, beside the results database', async () => {
    const factory = new IDBFactory();
    const db = new SiteDatabase({ indexedDB: factory });
    const mine = new IndexedDbSiteCalibrationStore(DEMO_SHA, db);
    const other = new IndexedDbSiteCalibrationStore('e'.repeat(64), db);
    await new SiteCalibrationLog({ store: mine, manifest }).accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    expect(await other.readEntries()).toEqual([]);
    expect(await other.readOverlay('site-1')).toBeNull();
    const entry = (await mine.readEntries())[0] as AuditEntry;
    await expect(other.append(entry)).rejects.toThrow(`this calibration log is for model sha256 ${'e'.repeat(64)}, not ${DEMO_SHA}`);
    const names = (await factory.databases()).map(d => d.name);
    expect(names).toEqual(['chestaid-site']);
    await db.close();
  });
});
