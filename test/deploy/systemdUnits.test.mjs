// The systemd units hospital IT copies (deploy/auth, deploy/worker): systemd's own check passes
// with nothing to say, and the worker's and the feeder's command lines, as the units expand them,
// use only options their command-line tools have.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const UNITS = ['auth', 'worker'].flatMap(dir => readdirSync(join(ROOT, 'deploy', dir)).filter(f => f.endsWith('.service')).map(f => join(ROOT, 'deploy', dir, f)));

test('every unit passes systemd-analyze verify without a warning', () => {
  assert.ok(UNITS.length >= 3, UNITS.join(', '));
  for (const unit of UNITS) {
    const run = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(run.error, undefined, `systemd-analyze is missing (Debian's systemd; scripts/setup.sh installs it): ${run.error?.message}`);
    assert.equal(run.status, 0, `${unit}: ${run.stderr}`);
    assert.equal(run.stderr.trim(), '', `${unit}: ${run.stderr}`);
  }
});

/** The unit's ExecStart as systemd would run it: ${VAR} from the example environment file, %i and %d filled in. */
function execStart(unit) {
  const env = Object.fromEntries(
    readFileSync(join(ROOT, 'deploy', 'worker', 'chestaid.env.example'), 'utf8')
      .split('\n')
      .filter(line => /^[A-Z_]+=/.test(line))
      .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const line = readFileSync(unit, 'utf8').split('\n').find(l => l.startsWith('ExecStart='));
  return line
    .slice('ExecStart='.length)
    .split(/\s+/)
    .map(word =>
      word
        .replace(/\$\{([A-Z_]+)\}/g, (_, name) => {
          assert.ok(name in env, `${unit}: ${name} is not in chestaid.env.example`);
          return env[name];
        })
        .replace(/%i/g, '1')
        .replace(/%d/g, '/run/credentials/unit'),
    );
}

for (const [unit, script] of [
  ['chestaid-worker@.service', 'scripts/worker.mjs'],
  ['chestaid-feeder.service', 'scripts/feeder.mjs'],
]) {
  test(`${unit} runs ${script} with options it has`, () => {
    const argv = execStart(join(ROOT, 'deploy', 'worker', unit));
    assert.equal(argv[0], '/usr/bin/node');
    assert.equal(argv[1], script);
    const help = execFileSync(process.execPath, [join(ROOT, script), '--help'], { cwd: ROOT, encoding: 'utf8' });
    const known = new Set(help.match(/--[a-z][a-z-]+/g));
    const used = argv.slice(2).filter(word => word.startsWith('--'));
    assert.ok(used.length >= 3, argv.join(' '));
    for (const option of used) assert.ok(known.has(option), `${unit}: ${option} is not an option of ${script}`);
    for (const word of argv) assert.doesNotMatch(word, /\$|%[a-zA-Z]/, `${unit}: ${word} left unexpanded`);
  });
}
