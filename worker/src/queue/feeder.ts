/**
 * The feeder: turns new stable studies into study jobs, from the PACS's change feed instead of a
 * listing of the archive (issue 17). Orthanc numbers every change (GET /changes?since=N&limit=M);
 * a study is "stable" once no instance arrived for StableAge seconds, and that event is the
 * trigger: the study is complete enough to score. The feeder reads the events after its position,
 * publishes one job per stable study (message id = StudyInstanceUID, persistent, publisher
 * confirms), and only once the broker confirmed them moves its position past them.
 *
 * The position is kept in the broker (topology.ts's last-value queue), not in a file: the feeder
 * holds no state of its own, so it can run on any machine and be replaced without copying
 * anything, and the position lives where the jobs live, in the same replicated, fsynced store. A
 * crash between a confirmed publish and the position's write re-publishes at most one batch of
 * studies; a worker finds their results in the PACS and scores nothing twice. A restart after the
 * position's write publishes nothing again.
 *
 * The feed's paging is guarded: a page whose Last does not pass the position stops the poll (no
 * progress), a poll reads at most maxPages pages, and a feed that starts below the stored position
 * (the PACS's database was replaced) is read again from its start, which is safe for the same
 * reason a crash is.
 *
 * A study the workers write results into changes, so it becomes stable again: the feeder publishes
 * it once more and a worker finds every image done (two QIDO requests and a metadata read, no
 * scoring). That is the price of a trigger that does not know who wrote to the study.
 */
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { connect } from 'amqplib';

import type { Logger } from '../log';
import { encodeJob } from './jobs';
import { redact } from './queueWorker';
import { declareTopology, JOBS_QUEUE, POSITION_QUEUE } from './topology';

export interface Change {
  readonly seq: number;
  readonly type: string;
  readonly resourceType: string;
  /** The PACS's own id of the resource (Orthanc's hash), not a DICOM UID. */
  readonly id: string;
}

export interface ChangePage {
  readonly changes: readonly Change[];
  /** The sequence number the next page starts after. */
  readonly last: number;
  /** True when the feed has nothing after `last` yet. */
  readonly done: boolean;
}

/** A PACS's change feed (Orthanc's /changes). */
export interface ChangeFeed {
  page(since: number, limit: number): Promise<ChangePage>;
  /** The newest sequence number the feed has. */
  newest(): Promise<number>;
  /** The StudyInstanceUID of a study the feed named; null when it was deleted since. */
  studyUid(id: string): Promise<string | null>;
}

/** The change feed answered with something else than a change feed. */
export class FeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedError';
  }
}

/** Orthanc's REST API: GET /changes and GET /studies/{id}. */
export class OrthancChangeFeed implements ChangeFeed {
  private readonly base: string;
  constructor(
    baseUrl: string,
    private readonly fetchImpl: (url: string) => Promise<Response> = url => fetch(url, { signal: AbortSignal.timeout(60_000) }),
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  private async json(path: string): Promise<unknown> {
    const response = await this.fetchImpl(this.base + path);
    const text = await response.text();
    if (response.status === 404) return null;
    if (response.status === 401) throw new FeedError(`${this.base}${path} answered 401: Orthanc wants credentials from the feeder (--orthanc-auth-file, or user:password in --orthanc), or refused the ones given`);
    if (!response.ok) throw new FeedError(`${this.base}${path} answered ${response.status}: ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new FeedError(`${this.base}${path} answered ${response.headers.get('content-type') ?? 'no Content-Type'}, not JSON: ${JSON.stringify(text.slice(0, 60))}`);
    }
  }

  async page(since: number, limit: number): Promise<ChangePage> {
    const body = (await this.json(`/changes?since=${since}&limit=${limit}`)) as { Changes?: unknown; Last?: unknown; Done?: unknown } | null;
    if (!body || !Array.isArray(body.Changes) || typeof body.Last !== 'number' || typeof body.Done !== 'boolean') {
      throw new FeedError(`${this.base}/changes is not an Orthanc change feed: ${JSON.stringify(body).slice(0, 120)}`);
    }
    const changes = (body.Changes as Record<string, unknown>[]).map(c => ({ seq: Number(c.Seq), type: String(c.ChangeType), resourceType: String(c.ResourceType), id: String(c.ID) }));
    return { changes, last: body.Last, done: body.Done };
  }

  async newest(): Promise<number> {
    const body = (await this.json('/changes?last')) as { Last?: unknown } | null;
    if (!body || typeof body.Last !== 'number') throw new FeedError(`${this.base}/changes?last has no Last: ${JSON.stringify(body).slice(0, 120)}`);
    return body.Last;
  }

  async studyUid(id: string): Promise<string | null> {
    if (!/^[0-9a-f-]+$/.test(id)) throw new FeedError(`not an Orthanc id: ${JSON.stringify(id)}`);
    const body = (await this.json(`/studies/${id}`)) as { MainDicomTags?: { StudyInstanceUID?: unknown } } | null;
    const uid = body?.MainDicomTags?.StudyInstanceUID;
    return typeof uid === 'string' ? uid : null;
  }
}

/** The feeder's position in the feed, as a last-value message in the broker (see the header). */
export class BrokerPosition {
  constructor(private readonly channel: ConfirmChannel) {}

  /** The stored position; null before the first write. */
  async read(): Promise<number | null> {
    // Normally one message; after an unlucky race two. Positions only grow: the largest is the one.
    const held = [];
    let best: number | null = null;
    for (;;) {
      const message = await this.channel.get(POSITION_QUEUE, { noAck: false });
      if (!message) break;
      held.push(message);
      const seq = Number(JSON.parse(message.content.toString('utf8')).seq);
      if (Number.isInteger(seq) && seq >= 0 && (best === null || seq > best)) best = seq;
    }
    for (const message of held) this.channel.nack(message, false, true);
    return best;
  }

  async write(seq: number): Promise<void> {
    this.channel.publish('', POSITION_QUEUE, Buffer.from(JSON.stringify({ seq, at: new Date().toISOString() })), { persistent: true, contentType: 'application/json' });
    await this.channel.waitForConfirms();
  }
}

export interface FeederOptions {
  readonly feed: ChangeFeed;
  readonly brokerUrl: string;
  readonly logger: Logger;
  /** Must match the workers' (the job queue's delivery limit). */
  readonly maxAttempts: number;
  /** Changes per page. */
  readonly batch?: number;
  /** Pages per poll at most. */
  readonly maxPages?: number;
}

export interface PollResult {
  readonly published: number;
  readonly position: number;
  /** The feed has nothing after the position. */
  readonly caughtUp: boolean;
}

export class Feeder {
  private connection: ChannelModel | null = null;
  private channel: ConfirmChannel | null = null;
  private positionStore: BrokerPosition | null = null;
  private position: number | null = null;
  private readonly batch: number;
  private readonly maxPages: number;

  constructor(private readonly options: FeederOptions) {
    this.batch = options.batch ?? 100;
    this.maxPages = options.maxPages ?? 1000;
  }

  /** Connects (again) when needed, and reads the position once per connection. */
  private async ready(): Promise<{ channel: ConfirmChannel; store: BrokerPosition }> {
    if (this.channel && this.positionStore) return { channel: this.channel, store: this.positionStore };
    const connection = await connect(this.options.brokerUrl);
    try {
      const channel = await connection.createConfirmChannel();
      await declareTopology(channel, { maxAttempts: this.options.maxAttempts });
      const store = new BrokerPosition(channel);
      const stored = await store.read();
      connection.once('close', () => {
        this.connection = null;
        this.channel = null;
        this.positionStore = null;
      });
      this.connection = connection;
      this.channel = channel;
      this.positionStore = store;
      this.position = stored ?? 0;
      this.options.logger.log('info', 'feeder-position', { broker: redact(this.options.brokerUrl), position: this.position, stored: stored !== null });
      return { channel, store };
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** Reads the feed after the position, publishes a job per new stable study, moves the position. */
  async poll(): Promise<PollResult> {
    const { logger, feed } = this.options;
    const { channel, store } = await this.ready();
    let position = this.position ?? 0;
    let published = 0;
    const newest = await feed.newest();
    if (newest < position) {
      logger.log('warn', 'feed-rewound', { position, newest, then: 'reading the feed from its start; workers skip what is already done' });
      position = 0;
    }
    for (let pages = 0; pages < this.maxPages; pages++) {
      const page = await feed.page(position, this.batch);
      const studies = new Map<string, string>();
      for (const change of page.changes) {
        if (change.type === 'StableStudy' && change.resourceType === 'Study') studies.set(change.id, change.id);
      }
      let sent = 0;
      for (const id of studies.keys()) {
        const uid = await feed.studyUid(id);
        if (uid === null) continue; // deleted since it became stable
        const { content, options } = encodeJob({ type: 'study', study: uid });
        channel.publish('', JOBS_QUEUE, content, options);
        sent++;
      }
      if (sent > 0) await channel.waitForConfirms();
      published += sent;
      if (page.last <= position && !page.done) {
        logger.log('error', 'feed-stuck', { position, last: page.last, then: 'the feed does not move past the position; trying again at the next poll' });
        break;
      }
      if (page.last > position) {
        await store.write(page.last);
        position = page.last;
        this.position = position;
      }
      if (sent > 0) logger.log('info', 'fed', { studies: sent, position });
      if (page.done) return { published, position, caughtUp: true };
    }
    return { published, position, caughtUp: false };
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
    this.connection = null;
    this.channel = null;
    this.positionStore = null;
  }
}
