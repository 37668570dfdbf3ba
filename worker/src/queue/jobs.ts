/**
 * What a job says. Two kinds, so that the broker's attempt count is per image: a study job (from
 * the feeder) is expanded by a worker into one image job per CR/DX image without a result; an
 * image job is scored. A job is JSON; its AMQP message id is the StudyInstanceUID (study) or the
 * SOPInstanceUID (image), which the logs and the dead-letter queue show. The derived result UIDs
 * (results.ts) stay the idempotency key: a job delivered twice finds its result in the PACS.
 */
import type { Options } from 'amqplib';

export type Job =
  | { readonly type: 'study'; readonly study: string }
  | { readonly type: 'image'; readonly study: string; readonly series: string; readonly sop: string };

const UID = /^[0-9.]{1,64}$/;

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
  if (job?.type === 'image') return { type: 'image', study: uid('study'), series: uid('series'), sop: uid('sop') };
  throw new BadJob(`a job of unknown type ${JSON.stringify(job?.type)}`);
}
