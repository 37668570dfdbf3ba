/* global setTimeout */
/**
 * The broker tests' RabbitMQ (broker/rabbitmq.mjs) in a fresh temporary directory, a client on it,
 * the feeder as a child process, and waiting for Orthanc to call studies stable.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

import amqp from 'amqplib';

import { startRabbitMQ } from '../../broker/rabbitmq.mjs';
import { ROOT } from './workerHarness.mjs';

export const QUEUES = { jobs: 'chestaid.triage', dead: 'chestaid.triage.dead', position: 'chestaid.feeder.position' };

/** For the enclosing describe: a RabbitMQ started before its tests and removed after them. */
export function demoBroker() {
  const holder = { broker: undefined };
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chestaid-rabbitmq-'));
    holder.broker = await startRabbitMQ({ stateDir: dir });
  });
  after(async () => {
    await holder.broker?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return holder;
}

/** Every message in a queue, taken off it (acked): [{ messageId, headers, job }]. */
export async function takeAll(url, queue) {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const out = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (!message) return out;
      out.push({ messageId: message.properties.messageId, headers: message.properties.headers, job: JSON.parse(message.content.toString()) });
    }
  } finally {
    await connection.close();
  }
}

/** Publishes jobs straight to the job queue (declared by a worker or the feeder before). */
export async function publishJobs(url, jobs) {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    for (const job of jobs) {
      channel.publish('', QUEUES.jobs, Buffer.from(JSON.stringify(job)), { persistent: true, messageId: job.sop ?? job.study, contentType: 'application/json' });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** Resolves once Orthanc has called `count` studies stable (its StableAge is 2 s in pacs/orthanc.json); `authorization`: its credentials. */
export async function waitStable(orthancUrl, count, timeoutMs = 60_000, authorization = undefined) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await (await fetch(`${orthancUrl}/changes?since=0&limit=100000`, { headers: authorization ? { Authorization: authorization } : {} })).json();
    const stable = new Set(body.Changes.filter(c => c.ChangeType === 'StableStudy').map(c => c.ID));
    if (stable.size >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${stable.size} of ${count} studies stable after ${timeoutMs} ms`);
    await new Promise(resolve => setTimeout(resolve, 500));
  }
}

/** Runs the feeder CLI to its exit: { code, events }. */
export function runFeeder(args) {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'feeder.mjs'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', chunk => (out += chunk));
    child.stderr.on('data', chunk => (err += chunk));
    child.once('exit', code => {
      const events = out.split('\n').filter(Boolean).map(line => {
        try {
          return JSON.parse(line);
        } catch {
          return { event: 'non-json', line };
        }
      });
      resolve({ code, events, stderr: err });
    });
  });
}
