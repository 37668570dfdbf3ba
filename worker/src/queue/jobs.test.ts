import { BadJob, decodeJob, encodeJob } from './jobs';
import { jobQueueArguments } from './topology';

describe('jobs', () => {
  it('round-trips both kinds, with the UID the logs and the dead-letter queue show as message id', () => {
    const study = { type: 'study', study: '1.2.3' } as const;
    const image = { type: 'image', study: '1.2.3', series: '1.2.3.4', sop: '1.2.3.4.5' } as const;
    for (const job of [study, image]) expect(decodeJob(encodeJob(job).content)).toEqual(job);
    expect(encodeJob(study).options).toMatchObject({ messageId: '1.2.3', persistent: true, type: 'chestaid.study' });
    expect(encodeJob(image).options.messageId).toBe('1.2.3.4.5');
  });

  it('carries the tries an image had before its job was published (earlier), a bounded count, and omits it when there were none', () => {
    const image = { type: 'image', study: '1.2.3', series: '1.2.3.4', sop: '1.2.3.4.5', earlier: 1 } as const;
    expect(decodeJob(encodeJob(image).content)).toEqual(image);
    expect(JSON.parse(encodeJob({ ...image, earlier: undefined }).content.toString())).not.toHaveProperty('earlier');
    expect(decodeJob(encodeJob({ ...image, earlier: 2 }).content)).toEqual({ ...image, earlier: 2 });
    for (const earlier of [101, -1, 0.5, '1', null]) {
      expect(() => decodeJob(Buffer.from(JSON.stringify({ ...image, earlier })))).toThrow(/earlier tries are not a count/);
    }
  });

  it('refuses what is not a job, naming why (such a message is dead-lettered, never retried)', () => {
    expect(() => decodeJob(Buffer.from('<html>'))).toThrow(BadJob);
    expect(() => decodeJob(Buffer.from('{"type":"study","study":"../x"}'))).toThrow(/study is not a UID: "..\/x"/);
    expect(() => decodeJob(Buffer.from('{"type":"series","study":"1.2"}'))).toThrow(/unknown type "series"/);
    expect(() => decodeJob(Buffer.from('{"type":"image","study":"1.2","series":"1.3"}'))).toThrow(/sop is not a UID/);
  });
});

describe('the job queue', () => {
  it('is a quorum queue whose delivery limit gives --max-attempts deliveries, dead-lettered at least once', () => {
    expect(jobQueueArguments(3)).toEqual({
      'x-queue-type': 'quorum',
      'x-delivery-limit': 2,
      'x-dead-letter-exchange': 'chestaid.dead',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    });
    expect(() => jobQueueArguments(0)).toThrow(/maxAttempts must be an integer >= 1/);
  });
});
