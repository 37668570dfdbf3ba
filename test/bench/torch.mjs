/**
 * The PyTorch eager peer (torch_peer.py) as a child process answering one forward pass per line,
 * so the benchmark can interleave it with the other peers round by round.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

import { ROOT } from './server.mjs';

export const PYTHON = process.env.CHESTAID_PYTHON ?? '/usr/bin/python3';

/**
 * @returns {Promise<{ info: object, run: (threads: number) => Promise<number>, close: () => Promise<void> }>}
 */
export async function startTorchPeer({ modelPath, inputPath, expectedLogit, timeoutMs = 180_000 }) {
  const child = spawn(PYTHON, [join(ROOT, 'test/bench/torch_peer.py'), modelPath, inputPath, String(expectedLogit)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const errors = [];
  child.stderr.on('data', chunk => errors.push(chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise(resolve => child.once('exit', code => resolve(code)));
  const next = async what => {
    const timer = new Promise((_, reject) => setTimeout(() => reject(new Error(`PyTorch peer: no answer to ${what} in ${timeoutMs / 1000} s`)), timeoutMs).unref());
    const line = await Promise.race([
      lines.next(),
      exited.then(code => Promise.reject(new Error(`PyTorch peer exited with ${code}: ${errors.join('').trim().split('\n').slice(-3).join(' | ')}`))),
      timer,
    ]);
    if (line.done) throw new Error(`PyTorch peer closed its output: ${errors.join('').trim()}`);
    return line.value;
  };
  const first = await next('start-up');
  if (!first.startsWith('ready ')) throw new Error(`PyTorch peer said ${JSON.stringify(first)}`);
  const info = JSON.parse(first.slice('ready '.length));
  return {
    info,
    async run(threads) {
      child.stdin.write(`run ${threads}\n`);
      const line = await next('run');
      if (!line.startsWith('ms ')) throw new Error(`PyTorch peer said ${JSON.stringify(line)}`);
      return Number(line.slice(3));
    },
    async close() {
      if (child.exitCode === null) {
        child.stdin.end('quit\n');
        await exited;
      }
    },
  };
}
