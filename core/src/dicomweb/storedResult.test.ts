/**
 * A stored result shown back on its image (issue 18 item 5): the map ChestAid wrote for a verified
 * SR is drawn, and each way a stored result or its map fails to belong to the image on screen is
 * refused with its reason.
 */
import { buildHeatmapParametricMap } from '../dicom/parametricMap';
import { resultUids } from '../dicom/resultUids';
import { demoResult, demoSource } from '../dicom/testing/fixtures';
import type { GreyImage } from '../resize';
import { PacsHttpError } from './client';
import { readHeatmap } from './codec';
import { storedMapReason, storedResultOf, storedResultReason, type ShownImage, type StoredMapSource } from './storedResult';
import type { ArchivedResult } from './verifyResult';

const header = demoSource();
const { model, calibration } = demoResult();
const source = {
  studyInstanceUID: String(header.StudyInstanceUID),
  seriesInstanceUID: String(header.SeriesInstanceUID),
  sopInstanceUID: String(header.SOPInstanceUID),
  sopClassUID: String(header.SOPClassUID),
};
const image: ShownImage = { ...source, rows: Number(header.Rows), columns: Number(header.Columns) };
const key = { sopInstanceUID: source.sopInstanceUID, modelSha256: model.sha256, calibrationVersion: calibration.version };

function cam(): GreyImage {
  const data = new Float32Array(49);
  for (let i = 0; i < 49; i++) data[i] = i / 48;
  return { data, width: 7, height: 7 };
}

async function verified(revision = 0): Promise<ArchivedResult> {
  const uids = await resultUids(source.studyInstanceUID, key, revision);
  return {
    content: { source, score: 1 / 3, logit: -0.69, threshold: 0.5, decision: 'below', calibration, model, observedAt: '2026-11-26T11:24:30.123Z' },
    srSopInstanceUID: uids.srInstance,
    srSeriesInstanceUID: uids.srSeries,
    verdict: { status: 'verified' },
  };
}

/** The map ChestAid writes for the result (revision `revision`), as Part 10 bytes; `change` alters the input. */
async function mapBytes(revision = 0, change: Record<string, unknown> = {}): Promise<ArrayBuffer> {
  const uids = await resultUids(source.studyInstanceUID, key, revision);
  return buildHeatmapParametricMap({
    source: header,
    cam: cam(),
    model,
    calibration,
    trainedOnSyntheticData: true,
    seriesInstanceUID: uids.mapSeries,
    sopInstanceUID: uids.mapInstance,
    ...change,
  }).part10;
}

/** A PACS holding `bytes` at the derived map UIDs of revision `revision` only. */
function pacsWith(bytes: ArrayBuffer | null, revision = 0): StoredMapSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async retrieveInstance(study, series, sop) {
      asked.push(sop);
      const uids = await resultUids(source.studyInstanceUID, key, revision);
      if (!bytes || study !== source.studyInstanceUID || series !== uids.mapSeries || sop !== uids.mapInstance) {
        throw new PacsHttpError(`http://pacs/${sop}`, 404, 'not found');
      }
      return bytes;
    },
    readHeatmap,
  };
}

describe('storedResultOf', () => {
  it('gives the verified SR with its map on the image grid, read from the derived UIDs of its revision', async () => {
    for (const revision of [0, 2]) {
      const shown = await storedResultOf(await verified(revision), image, pacsWith(await mapBytes(revision), revision));
      if ('refused' in shown) throw new Error(shown.refused);
      expect(shown.mapProblem).toBeNull();
      expect(shown.map?.sopInstanceUID).toBe((await resultUids(source.studyInstanceUID, key, revision)).mapInstance);
      expect([shown.map?.pixels.width, shown.map?.pixels.height]).toEqual([image.columns, image.rows]);
      const values = shown.map!.pixels.data;
      expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...values)).toBeCloseTo(1, 5);
    }
  });

  it('refuses an unverified SR or a conflict with its reason, and never asks for a map', async () => {
    const pacs = pacsWith(await mapBytes());
    const unverified = { ...(await verified()), verdict: { status: 'unverified' as const, reason: 'calibration "1" is not one this site holds' } };
    expect(await storedResultOf(unverified, image, pacs)).toEqual({ refused: 'calibration "1" is not one this site holds' });
    const conflict = { ...(await verified()), verdict: { status: 'conflict' as const, reason: '2 verified ChestAid results of this image disagree' } };
    expect(await storedResultOf(conflict, image, pacs)).toEqual({ refused: '2 verified ChestAid results of this image disagree' });
    expect(pacs.asked).toEqual([]);
  });

  it('refuses a result computed on another image than the one shown (SOP Instance, series or study)', async () => {
    const result = await verified();
    for (const other of [{ sopInstanceUID: '1.2.3.4' }, { seriesInstanceUID: '1.2.3.5' }, { studyInstanceUID: '1.2.3.6' }]) {
      expect(storedResultReason(result, { ...image, ...other })).toMatch(/^the stored result was computed on image .* not on the image shown/);
    }
  });

  it('keeps the score but draws no map when the PACS holds none, or one that does not parse', async () => {
    const none = await storedResultOf(await verified(), image, pacsWith(null));
    expect(none).toMatchObject({ map: null, mapProblem: expect.stringMatching(/^the PACS holds no heatmap map for this result/) });
    const garbage = await storedResultOf(await verified(), image, pacsWith(new Uint8Array([1, 2, 3]).buffer));
    expect(garbage).toMatchObject({ map: null, mapProblem: expect.stringMatching(/^the stored heatmap map cannot be read: /) });
  });

  it('passes a PACS that cannot be reached on as an error (the panel says unreachable), not as a missing map', async () => {
    const down: StoredMapSource = { retrieveInstance: () => Promise.reject(new PacsHttpError('http://pacs', 503, 'down')), readHeatmap };
    await expect(storedResultOf(await verified(), image, down)).rejects.toThrow(PacsHttpError);
  });
});

describe('storedMapReason: each way a map fails to be this result\'s heatmap on this image', () => {
  const mapUid = async (revision = 0) => (await resultUids(source.studyInstanceUID, key, revision)).mapInstance;
  const read = async (change: Record<string, unknown> = {}, revision = 0) => readHeatmap(await mapBytes(revision, change));

  it('passes the map ChestAid wrote', async () => {
    expect(await storedMapReason(await verified(), image, await mapUid(), await read())).toBeNull();
  });

  it('names a map under another UID than the one derived for the SR\'s revision', async () => {
    // The revision-1 map beside a revision-0 SR: a true map, but not this SR's.
    expect(await storedMapReason(await verified(), image, await mapUid(1), await read({}, 1))).toMatch(/^the heatmap map .* is not the one ChestAid derives for this result/);
  });

  it('names a map computed on another image', async () => {
    const other = { ...header, SOPInstanceUID: '1.2.826.0.1.3680043.8.498.999' };
    expect(await storedMapReason(await verified(), image, await mapUid(), await read({ source: other }))).toMatch(/^the heatmap map was computed on image 1\.2\.826\.0\.1\.3680043\.8\.498\.999, not on the SR's image/);
  });

  it('names a map of other model bytes, another device or another model version', async () => {
    for (const change of [{ sha256: 'ab'.repeat(32) }, { deviceUID: '1.2.3.4.5' }, { version: '9.9.9' }]) {
      expect(await storedMapReason(await verified(), image, await mapUid(), await read({ model: { ...model, ...change } }))).toMatch(/^the heatmap map names model .* not the SR's/);
    }
  });

  it('names a map of another calibration', async () => {
    const other = { ...calibration, version: `site-9+sha256:${'cd'.repeat(32)}` };
    expect(await storedMapReason(await verified(), image, await mapUid(), await read({ calibration: other }))).toMatch(/^the heatmap map names calibration site-9/);
  });

  it('names a map on another grid than the image\'s', async () => {
    expect(await storedMapReason(await verified(), { ...image, rows: image.rows + 1 }, await mapUid(), await read())).toMatch(/^the heatmap map is \d+ x \d+ .* not the image's/);
  });

  it('names a map in another frame of reference than the image\'s', async () => {
    expect(await storedMapReason(await verified(), { ...image, frameOfReferenceUID: '1.2.3.9' }, await mapUid(), await read())).toMatch(/^the heatmap map's frame of reference .* is not the image's \(1\.2\.3\.9\)/);
  });

  it('names values outside [0, 1] or not numbers', async () => {
    for (const bad of [1.5, -0.25, Number.NaN]) {
      const map = await read();
      const data = Float32Array.from(map.pixels.data);
      data[17] = bad;
      expect(await storedMapReason(await verified(), image, await mapUid(), { ...map, pixels: { ...map.pixels, data } })).toMatch(/^the heatmap map holds .* at pixel 17: a normalised heatmap lies in \[0, 1\]/);
    }
  });
});
