/**
 * Where the worker benchmark's processes run (workerScaling.mjs): the workers on CPUs of their
 * own and the PACS and broker on the others, on a machine with 4 CPUs or more.
 * Run: node --test test/bench/
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { expandCpuList, placementFor } from './workerScaling.mjs';

test('CPU lists as taskset reads them', () => {
  assert.deepEqual(expandCpuList('0,1'), [0, 1]);
  assert.deepEqual(expandCpuList('0,2-4'), [0, 2, 3, 4]);
  assert.deepEqual(expandCpuList('3, 3,1'), [3, 1]);
  assert.throws(() => expandCpuList('4-2'), /not a CPU list/);
  assert.throws(() => expandCpuList('a'), /not a CPU list/);
});

test('under 4 CPUs nothing is pinned: the workers, the PACS and the broker share them', () => {
  assert.equal(placementFor(1), null);
  assert.equal(placementFor(2), null);
  assert.equal(placementFor(3), null);
});

test('from 4 CPUs the workers get CPUs 0 and 1, the PACS and the broker the rest', () => {
  assert.deepEqual(placementFor(4), { workers: '0,1', services: '2-3', workerCount: 2 });
  assert.deepEqual(placementFor(16), { workers: '0,1', services: '2-15', workerCount: 2 });
});

test('--worker-cpus chooses, and must leave a CPU for the services on this machine', () => {
  assert.deepEqual(placementFor(2, '0'), { workers: '0', services: '1', workerCount: 1 });
  assert.deepEqual(placementFor(8, '2-5'), { workers: '2,3,4,5', services: '0,1,6,7', workerCount: 4 });
  assert.throws(() => placementFor(2, '0,1'), /leaves no CPU/);
  assert.throws(() => placementFor(2, '0-3'), /has CPUs 0-1/);
});
