// The npm packages a site adds to its own OHIF build (pluginConfig.json): `npm pack` builds and
// packs both, each tarball holds its built entry, its licence and nothing else, and each entry
// loads with only what the host viewer provides and what its package.json declares.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXTENSION = '@chestaid/extension-chestaid';
const MODE = '@chestaid/mode-chestaid';
const HOST = /^(react|react-dom|@ohif\/[^/]+|@cornerstonejs\/[^/]+)(\/|$)/;

let work;
const packed = {};

before(() => {
  work = mkdtempSync(join(tmpdir(), 'chestaid-pack-'));
  // prepack builds each package's dist/ first, as it would before a publish.
  execFileSync('npm', ['pack', '-w', 'extension', '-w', 'mode', '--pack-destination', work], { cwd: ROOT, stdio: 'pipe' });
  const nodeModules = join(work, 'site/node_modules');
  for (const name of [EXTENSION, MODE]) {
    const tarball = join(work, `${name.slice(1).replace('/', '-')}-0.1.0.tgz`);
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map(f => f.replace(/^package\//, ''));
    const dir = join(nodeModules, name);
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '--strip-components=1', '-C', dir]);
    packed[name] = { files, dir, packageJson: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
  }
  packed.nodeModules = nodeModules;
});

after(() => rmSync(work, { recursive: true, force: true }));

/** The names the UMD wrapper passes to require(): what the entry needs from outside itself. */
function requiredByEntry(dir, main) {
  const header = readFileSync(join(dir, main), 'utf8').split('\n').find(line => line.includes('module.exports = factory('));
  return [...header.matchAll(/require\("([^"]+)"\)/g)].map(match => match[1]);
}

for (const [name, keyword] of [
  [EXTENSION, 'ohif-extension'],
  [MODE, 'ohif-mode'],
]) {
  test(`${name}: the tarball holds the built entry, the licence and the manifest, no sources, tests or source maps`, () => {
    const { files, dir, packageJson } = packed[name];
    for (const file of files) assert.match(file, /^(package\.json|LICENSE|README\.md|dist\/[^/]+\.js)$/, `unexpected ${file} in the tarball`);
    assert.ok(files.includes('LICENSE'));
    assert.ok(files.includes(packageJson.main), `main ${packageJson.main} is in the tarball`);
    assert.ok(files.includes(packageJson.module), `module ${packageJson.module} is in the tarball`);
    assert.equal(readFileSync(join(dir, 'LICENSE'), 'utf8'), readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
    assert.equal(packageJson.license, 'MIT');
    assert.ok(packageJson.keywords.includes(keyword));
    assert.equal(packageJson.private, undefined);
  });

  test(`${name}: the entry requires only host packages and what its package.json declares`, () => {
    const { dir, packageJson } = packed[name];
    const declared = { ...packageJson.dependencies, ...packageJson.peerDependencies };
    const required = requiredByEntry(dir, packageJson.main);
    for (const request of required) {
      const packageName = request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0];
      assert.ok(declared[packageName] !== undefined, `${request} is required by the entry but not declared`);
      if (HOST.test(request)) assert.ok(packageJson.peerDependencies[packageName], `${request} is the host's: a peer`);
    }
    assert.equal(required.some(r => r.startsWith('@chestaid/core')), false, '@chestaid/core (unpublished) is compiled in');
  });
}

test('the extension entry loads and exposes its id, its modules and the ids a mode uses', () => {
  const loaded = JSON.parse(execFileSync(process.execPath, [join(ROOT, 'test/packages/loadEntry.cjs'), packed.nodeModules, EXTENSION], { encoding: 'utf8' }));
  assert.equal(loaded.id, EXTENSION);
  for (const member of ['preRegistration', 'getPanelModule', 'getCommandsModule', 'getToolbarModule', 'getCustomizationModule', 'getDataSourcesModule']) {
    assert.ok(loaded.members.includes(member), `extension.${member}`);
  }
  for (const named of ['id', 'panelId', 'analyzeButtonId', 'heatmapButtonId', 'triageButtonId', 'checkModalities', 'extensionVersion']) {
    assert.ok(loaded.exports.includes(named), `named export ${named}`);
  }
  assert.equal(loaded.panelId, `${EXTENSION}.panelModule.chestaid`);
  assert.deepEqual(loaded.panels, ['chestaid']);
});

test("the extension's worker files (onnxruntime-web's and TensorFlow.js's engines) are in the tarball and named by the entry", () => {
  const { files, dir, packageJson } = packed[EXTENSION];
  const others = files.filter(f => f.startsWith('dist/') && f !== packageJson.main).sort();
  assert.deepEqual(
    others.map(f => f.replace(/\.[0-9a-f]+\.js$/, '')).sort(),
    ['dist/chestaid-inference', 'dist/chestaid-inference-tfjs'],
    `the two workers beside the entry, found ${others.join(', ')}`,
  );
  for (const worker of others) {
    const [, hash] = worker.match(/^dist\/chestaid-inference(?:-tfjs)?\.([0-9a-f]+)\.js$/);
    assert.ok(readFileSync(join(dir, packageJson.main), 'utf8').includes(hash), worker);
    // A worker runs where nothing provides an external: it requires nothing.
    assert.deepEqual(requiredByEntry(dir, worker), [], worker);
  }
});

test('the mode entry loads with the packed extension, lists it and shows its panel', () => {
  const loaded = JSON.parse(execFileSync(process.execPath, [join(ROOT, 'test/packages/loadEntry.cjs'), packed.nodeModules, MODE], { encoding: 'utf8' }));
  assert.equal(loaded.id, 'chestaid');
  assert.deepEqual(Object.keys(loaded.extensions).sort(), [EXTENSION, '@ohif/extension-cornerstone', '@ohif/extension-default'].sort());
  assert.equal(loaded.extensions[EXTENSION], `^${packed[EXTENSION].packageJson.version}`);
  assert.deepEqual(loaded.rightPanels, [`${EXTENSION}.panelModule.chestaid`]);
  assert.deepEqual(loaded.valid, { CR: true, CT: false });
});

test('every package.json in the repository says MIT, as LICENSE does', () => {
  assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
  for (const dir of ['.', ...readdirSync(ROOT).filter(d => ['core', 'extension', 'mode', 'worker', 'cli'].includes(d))]) {
    assert.equal(JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')).license, 'MIT', `${dir}/package.json`);
  }
});
