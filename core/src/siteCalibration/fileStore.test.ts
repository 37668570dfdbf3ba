import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileSiteCalibrationStore } from './fileStore';
import { SiteCalibrationLog, TornLogError } from './log';
import { EMPTY_HEAD, verifyLog, type AuditEntry } from './chain';
import { UntrustedLogError } from './trust';
import { DEMO_SHA, demoManifest, overlayJson } from '../testing/overlays';

const manifest = demoManifest();
const now = () => new Date('2026-11-27T08:00:00Z');

async function initialised(): Promise<{ dir: string; store: FileSiteCalibrationStore; versions: SiteCalibrationLog }> {
  const dir = mkdtempSync(join(tmpdir(), 'chestaid-file-store-'));
  const store = new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA });
  await store.init('1');
  return { dir, store, versions: new SiteCalibrationLog({ store, manifest }) };
}

const site2 = () => overlayJson({ version: 'site-2', previous_version: 'site-1', created: { by: 'Dr B', at: '2026-11-27T07:00:00Z' } });

describe('FileSiteCalibrationStore.recover', () => {
  it('cuts a torn last line under the lock, keeping its bytes in a repair entry, and readers trust the log again', async () => {
    const { dir, store, versions } = await initialised();
    const first = await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    const path = join(dir, 'log.jsonl');
    const whole = await fs.readFile(path);
    const torn = Buffer.from('{"seq":2,"at":"2026-11-27T07:59:59Z","actor":"Dr B","act');
    await fs.writeFile(path, Buffer.concat([whole, torn]));
    await expect(versions.manifestOf()).rejects.toBeInstanceOf(TornLogError);

    const [repair, ...more] = await store.recover({ actor: 'Dr Admin', manifest, now });
    expect(more).toEqual([]);
    expect(repair).toMatchObject({
      seq: 2, action: 'repair', actor: 'Dr Admin', at: '2026-11-27T08:00:00.000Z', version: 'site-1', previousVersion: 'site-1',
      prevHash: first.hash, threshold: first.threshold, overlaySha256: first.overlaySha256,
      repair: { what: 'torn-tail', bytes: torn.length, detail: expect.stringMatching(/^line 2 of log\.jsonl was incomplete \(\d+ bytes, no newline\)/) },
    });
    expect(Buffer.from(repair.repair?.cutBase64 as string, 'base64')).toEqual(torn);
    // The entries before the torn line are kept byte for byte; the repair entry follows them.
    const mended = await fs.readFile(path);
    expect(mended.subarray(0, whole.length)).toEqual(whole);
    expect((await verifyLog((await store.readEntries()) as AuditEntry[], { modelSha256: DEMO_SHA, baseVersion: '1' })).ok).toBe(true);
    expect(await store.readActive()).toMatchObject({ version: 'site-1', head: { seq: 2, hash: repair.hash } });
    expect((await versions.manifestOf()).manifest.calibration.version).toBe('site-1');
    expect(await store.recover({ actor: 'Dr Admin', manifest, now })).toEqual([]);
  });

  it('moves aside an overlay whose log line was never appended, with a repair entry, so the next accept goes through', async () => {
    const { dir, store, versions } = await initialised();
    const first = await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    // What a crash between writing the overlay and appending its line leaves behind.
    const orphan = `${JSON.stringify(site2(), null, 2)}\n`;
    await fs.writeFile(join(dir, 'overlays', 'site-2.json'), orphan);
    await expect(versions.accept(site2(), { actor: 'Dr B', expectedHead: { seq: 1, hash: first.hash } })).rejects.toThrow(/site-2 already exists/);

    const [repair] = await store.recover({ actor: 'Dr Admin', manifest, now });
    expect(repair).toMatchObject({ seq: 2, action: 'repair', version: 'site-1', repair: { what: 'orphan-overlay', version: 'site-2', bytes: Buffer.byteLength(orphan) } });
    const movedTo = repair.repair?.movedTo as string;
    expect(movedTo).toMatch(/^overlays\/orphaned\/site-2\.[0-9a-f]{12}\.json$/);
    expect(await fs.readFile(join(dir, movedTo), 'utf8')).toBe(orphan);
    expect(await store.readOverlay('site-2')).toBeNull();
    // Not adopted: site-1 stays active until an admin accepts again.
    expect((await versions.history()).active).toBe('site-1');
    const accepted = await versions.accept(site2(), { actor: 'Dr B', expectedHead: { seq: 2, hash: repair.hash } });
    expect(accepted).toMatchObject({ seq: 3, action: 'accept', version: 'site-2' });
  });

  it('refuses to mend a log cut behind its active.json, and writes nothing', async () => {
    const { dir, store, versions } = await initialised();
    const first = await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    await versions.accept(site2(), { actor: 'Dr B', expectedHead: { seq: 1, hash: first.hash } });
    const path = join(dir, 'log.jsonl');
    const lines = (await fs.readFile(path, 'utf8')).split('\n');
    // The second entry cut, then a torn line: a truncation that looks like a crash.
    const cut = `${lines[0]}\n{"seq":2,`;
    await fs.writeFile(path, cut);
    await expect(store.recover({ actor: 'Dr Admin', manifest, now })).rejects.toThrow(/the calibration log is truncated: it ends at entry 1, but active\.json trusted entry 2/);
    expect(await fs.readFile(path, 'utf8')).toBe(cut);
  });

  it('rewrites a missing active.json from the log, saying so in a repair entry', async () => {
    const { dir, store, versions } = await initialised();
    await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    await fs.rm(join(dir, 'active.json'));
    await expect(versions.history()).rejects.toThrow(/the calibration log is truncated: active\.json, the record of its head kept beside it, is missing while the log holds 1 entries/);
    const [repair] = await store.recover({ actor: 'Dr Admin', manifest, now });
    expect(repair.repair).toEqual({ what: 'head-record', detail: "active.json was missing; rewritten from the log's head, entry 1" });
    expect((await versions.history()).active).toBe('site-1');
  });
});

describe('a reader of the file store with no memory of its own', () => {
  it("catches a log cut behind active.json's back, and a log put back from another chain", async () => {
    const { dir, versions } = await initialised();
    const first = await versions.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    await versions.accept(site2(), { actor: 'Dr B', expectedHead: { seq: 1, hash: first.hash } });
    const path = join(dir, 'log.jsonl');
    const log = await fs.readFile(path, 'utf8');
    await fs.writeFile(path, `${log.split('\n')[0]}\n`);
    await expect(versions.manifestOf()).rejects.toBeInstanceOf(UntrustedLogError);
    await expect(versions.manifestOf()).rejects.toThrow(/is truncated: it ends at entry 1, but its own active\.json trusted entry 2/);

    // Another deployment's log of the same length, copied over this one.
    const other = await initialised();
    const a = await other.versions.accept(overlayJson({ created: { by: 'Dr Other', at: '2026-11-20T12:00:00Z' } }), { actor: 'Dr Other', expectedHead: EMPTY_HEAD });
    await other.versions.accept(site2(), { actor: 'Dr Other', expectedHead: { seq: 1, hash: a.hash } });
    await fs.copyFile(join(other.dir, 'log.jsonl'), path);
    await expect(versions.manifestOf()).rejects.toMatchObject({ kind: 'rewound' });
  });
});
