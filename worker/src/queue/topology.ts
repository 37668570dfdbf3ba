/**
 * The broker's side of the triage worker (RabbitMQ, docs/architecture.md "The worker on a broker"):
 * what is declared, with which arguments, and why.
 *
 * - `chestaid.triage`: the jobs, a quorum queue (replicated with Raft when the broker is a
 *   cluster; on disk, fsynced, on one node), consumed with manual acknowledgements. Its
 *   `x-delivery-limit` is the attempts per job: the broker counts a delivery whenever a job goes
 *   back to the queue, a nack or a consumer that died (kill -9, the kernel's OOM killer) alike, so
 *   an image that kills its worker is tried `maxAttempts` times in all, then dead-lettered. The
 *   attempt is counted before the job is processed, by the broker, not by the worker after.
 * - `chestaid.dead` (fanout) -> `chestaid.triage.dead`: where a job goes after its last attempt,
 *   or at once when retrying cannot help, with its x-death reason; at-least-once dead-lettering
 *   (which needs `x-overflow: reject-publish`), so a job is never lost between the two queues.
 * - `chestaid.feeder.position`: the feeder's position in the PACS's change feed, a last-value
 *   queue (one message, `x-max-length` 1, the oldest dropped): read at start, replaced after
 *   each batch of jobs is confirmed (feeder.ts).
 */
import type { Channel } from 'amqplib';

export const JOBS_QUEUE = 'chestaid.triage';
export const DEAD_EXCHANGE = 'chestaid.dead';
export const DEAD_QUEUE = 'chestaid.triage.dead';
export const POSITION_QUEUE = 'chestaid.feeder.position';

/** The broker refused the declaration (a queue already declared with other arguments). */
export class TopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyError';
  }
}

export function jobQueueArguments(maxAttempts: number): Record<string, unknown> {
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new Error(`maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  return {
    'x-queue-type': 'quorum',
    // RabbitMQ dead-letters once a message was returned more than this many times: maxAttempts deliveries in all.
    'x-delivery-limit': maxAttempts - 1,
    'x-dead-letter-exchange': DEAD_EXCHANGE,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

/**
 * Declares the queues and exchange (idempotent). A queue that exists with other arguments (the
 * workers started with another --max-attempts) is a TopologyError naming it: RabbitMQ refuses to
 * redeclare it, and the fix is a person's (delete the queue, or use the same setting).
 */
export async function declareTopology(channel: Channel, { maxAttempts }: { maxAttempts: number }): Promise<void> {
  const step = async (what: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      throw new TopologyError(
        `the broker refused to declare ${what}: ${(error as Error).message}` +
          (/PRECONDITION_FAILED/.test((error as Error).message) ? ' (it exists with other arguments: every worker and feeder must use the same --max-attempts)' : ''),
      );
    }
  };
  await step(`exchange ${DEAD_EXCHANGE}`, () => channel.assertExchange(DEAD_EXCHANGE, 'fanout', { durable: true }));
  await step(`queue ${DEAD_QUEUE}`, () => channel.assertQueue(DEAD_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } }));
  await step(`binding ${DEAD_QUEUE}`, () => channel.bindQueue(DEAD_QUEUE, DEAD_EXCHANGE, ''));
  await step(`queue ${JOBS_QUEUE}`, () => channel.assertQueue(JOBS_QUEUE, { durable: true, arguments: jobQueueArguments(maxAttempts) }));
  await step(`queue ${POSITION_QUEUE}`, () =>
    channel.assertQueue(POSITION_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-max-length': 1, 'x-overflow': 'drop-head' } }),
  );
}
