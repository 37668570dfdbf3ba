// Times the recalibration core in Node: recalibrate() on 300- and 150-case synthetic cohorts with
// 1000 bootstrap replicates, and bootstrapThreshold alone. The core is transpiled on the fly
// (TypeScript's transpileModule) into a temporary folder, so no build step is needed:
//   node test/bench/recalibration.mjs
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('typescript');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const core = join(root, 'core/src');
const out = mkdtempSync(join(tmpdir(), 'recal-bench-'));

const sources = ['calibration.ts', 'errors.ts', 'testing/cohorts.ts', ...readdirSync(join(core, 'recalibration')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => `recalibration/${f}`)];
for (const file of sources) {
  const js = ts.transpileModule(readFileSync(join(core, file), 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const dest = join(out, file.replace(/\.ts$/, '.js'));
  mkdirSync(dirname(dest), { recursive: true });
  writeFileSync(dest, js);
}
const recal = require(join(out, 'recalibration/index.js'));
const { syntheticCohort } = require(join(out, 'testing/cohorts.js'));

const current = { input: 'logit', selected: 'temperature', methods: { temperature: { params: { temperature: 1 } }, platt: { params: { a: 1, b: 0 } }, isotonic: { params: { x: [0], y: [0.5] } } } };

function time(label, fn, reps = 10) {
  fn(); // warm-up: JIT
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(`${label}: median ${ms[reps >> 1].toFixed(1)} ms, min ${ms[0].toFixed(1)} ms, max ${ms[reps - 1].toFixed(1)} ms (${reps} runs, Node ${process.version})`);
}

for (const n of [300, 150]) {
  const cohort = syntheticCohort(n, 21, 0.5, 1.2);
  time(`recalibrate ${n} cases, 1000 bootstrap reps`, () => recal.recalibrate(cohort, { current, currentThreshold: 0.75, nBoot: 1000 }));
}
const cohort = syntheticCohort(300, 21, 0.5, 1.2);
const y = cohort.map((c) => c.label);
const p = cohort.map((c) => 1 / (1 + Math.exp(-c.logit)));
time('bootstrapThreshold 300 cases, 1000 reps', () => recal.bootstrapThreshold(y, p, 0.9, { nBoot: 1000 }));
const r = recal.recalibrate(cohort, { current, currentThreshold: 0.75, nBoot: 1000 });
console.log(`300-case shifted cohort: selected ${r.selected}; held-out ECE ${r.before.heldOut.metrics.ece.toFixed(4)} -> ${r.after.heldOut.metrics.ece.toFixed(4)}; threshold ${r.before.threshold} -> ${r.after.threshold.toFixed(4)} [${r.threshold.threshold.low.toFixed(4)}, ${r.threshold.threshold.high.toFixed(4)}]`);
rmSync(out, { recursive: true, force: true });
