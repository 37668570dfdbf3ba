/**
 * What a job says. Two kinds, so that the broker's attempt count is per image: a study job (from
 * the feeder) is expanded by a worker into one image job per CR/DX image without a result; an
 * image job is scored. A study with one image left to score has it scored inside its study job on
 * that job's first delivery (queueWorker.ts); if that delivery never settles (the worker died on
 * the image), the redelivered study job publishes the image job with `earlier: 1`, the try the
 * broker counted on the study job, so the image's tries stay --max-attempts in all; a retried image
 * that a worker puts back to be scored alone (queueWorker.ts) carries its tries the same way. A job is
 * JSON; its AMQP message id is the StudyInstanceUID (study) or the SOPInstanceUID (image), which
 * the logs and the dead-letter queue show. The derived result UIDs (results.ts) stay the
 * idempotency key: a job delivered twice finds its result in the PACS.
 */
import type { Options } from 'amqplib';

export type Job =
  | { readonly type: 'study'; readonly study: string }
  | {
      readonly type: 'image';
      readonly study: string;
      readonly series: string;
      readonly sop: string;
      /** Tries of this image before this job was published (inside its study job, or before it was put back); absent: none. */
      readonly earlier?: number;
    };

const UID = /^[0-9.]{1,64}$/;
/** A count, bounded: whatever passes --max-attempts is dead-lettered untried, so a larger one means nothing. */
const MAX_EARLIER = 100;

export class BadJob extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadJob';
  }
}

export function encodeJob(job: Job): { content: Buffer; options: Options.Publish } {
  return {
    content: Buffer.from(JSON.stringify(job)),
    options: {
      persistent: true,
      contentType: 'application/json',
      type: `chestaid.${job.type}`,
      messageId: job.type === 'study' ? job.study : job.sop,
    },
  };
}

/** The job in a message; BadJob (dead-lettered at once) for anything else. */
export function decodeJob(content: Buffer): Job {
  let raw: unknown;
  try {
    raw = JSON.parse(content.toString('utf8'));
  } catch (error) {
    throw new BadJob(`a job that is not JSON: ${(error as Error).message}`);
  }
  const job = raw as Record<string, unknown>;
  const uid = (name: string) => {
    const v = job[name];
    if (typeof v !== 'string' || !UID.test(v)) throw new BadJob(`a ${String(job.type)} job whose ${name} is not a UID: ${JSON.stringify(v)}`);
    return v;
  };
  if (job?.type === 'study') return { type: 'study', study: uid('study') };
  if (job?.type === 'image') {
    const image = { type: 'image', study: uid('study'), series: uid('series'), sop: uid('sop') } as const;
    if (job.earlier === undefined) return image;
    if (!(Number.isInteger(job.earlier) && (job.earlier as number) >= 0 && (job.earlier as number) <= MAX_EARLIER)) {
      throw new BadJob(`an image job whose earlier tries are not a count: ${JSON.stringify(job.earlier)}`);
    }
    return { ...image, earlier: job.earlier as number };
  }
  throw new BadJob(`a job of unknown type ${JSON.stringify(job?.type)}`);
}
