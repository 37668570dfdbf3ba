// chestaid-config.js, the snippet a site includes after its own app-config.js, run as a browser
// would run the two scripts (one global scope, in order) against a foreign configuration
// (test/deploy/site/app-config.js): it must add ChestAid and lose nothing of the site's.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import vm from 'node:vm';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const { SETTINGS, chestAidConfigSource } = require('../../host/deliverable.cjs');
const EXTENSION_ID = require('../../extension/package.json').name;
// The site's own viewer lists an extension of its own too (the prebuilt viewer's are built in).
const SITE_CONFIG = readFileSync(join(ROOT, 'test/deploy/site/app-config.js'), 'utf8').replace(
  'extensions: [],',
  "extensions: [['@st-elsewhere/extension-audit', { endpoint: '/audit' }]],",
);
const MANIFEST_URL = `/models/sha256-${'0'.repeat(64)}/manifest.json`;

// A stand-in for ChestAid's bundle, so the stubs can be seen to load it.
const scratch = mkdtempSync(join(tmpdir(), 'chestaid-config-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const fakeBundle = join(scratch, 'bundle.mjs');
writeFileSync(
  fakeBundle,
  `export const extension = { id: ${JSON.stringify(EXTENSION_ID)}, getPanelModule: () => [], preRegistration(args) { this.registeredWith = args; } };
export const mode = { id: 'chestaid', modeFactory: () => ({ id: 'chestaid', extensions: { ${JSON.stringify(EXTENSION_ID)}: '^0.1.0', '@ohif/extension-default': '^3.0.0' } }) };
`,
);

const snippet = chestAidConfigSource({
  version: '0.1.0',
  bundleUrl: pathToFileURL(fakeBundle).href,
  extensionId: EXTENSION_ID,
  modeId: 'chestaid',
  modePackage: '@chestaid/mode-chestaid',
  defaults: { manifestUrl: MANIFEST_URL, ortWasmPaths: '/chestaid/ort/' },
});

/** A browser-like global scope: window is the global object, console errors are recorded. */
function browserContext() {
  const errors = [];
  const context = vm.createContext({
    console: { error: (...args) => errors.push(args.map(String).join(' ')), warn() {}, log() {}, info() {} },
    URL,
    location: { origin: 'https://viewer.st-elsewhere.example' },
  });
  vm.runInContext('globalThis.window = globalThis;', context);
  const run = (source, filename) =>
    vm.runInContext(source, context, { filename, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  return { context, errors, run, config: () => context.window.config };
}

/** The site's configuration with ChestAid's snippet run after it, `times` times. */
function siteWithChestAid(times = 1, siteSource = SITE_CONFIG) {
  const browser = browserContext();
  browser.run(siteSource, 'app-config.js');
  const site = browser.config();
  // What the site set, by identity (nothing replaced) and by value (nothing changed in place).
  const before = { ...site };
  const json = JSON.stringify(site);
  const extensions = [...site.extensions];
  const modes = [...site.modes];
  for (let i = 0; i < times; i++) browser.run(snippet, 'chestaid-config.js');
  return { ...browser, site, before, json, extensions, modes };
}

/** Objects made in the context have its prototypes: compared by value through JSON. */
const plain = value => JSON.parse(JSON.stringify(value));

/** `array` starts with `prefix`'s elements, the same ones. */
function assertStartsWith(array, prefix, what) {
  assert.ok(array.length >= prefix.length, what);
  prefix.forEach((element, i) => assert.equal(array[i], element, `${what}: element ${i}`));
}

function chestAidEntries(config) {
  return config.extensions.filter(entry => Array.isArray(entry) && entry[0]?.id === EXTENSION_ID);
}

function assertSiteKept({ config, site, before, json, extensions, modes }) {
  const after = config();
  assert.equal(after, site, 'window.config is the same object');
  for (const [key, value] of Object.entries(before)) {
    if (key === 'extensions' || key === 'modes') continue;
    assert.equal(after[key], value, `window.config.${key} kept`);
  }
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort(), 'no key added or removed');
  const unchanged = JSON.parse(json);
  const now = plain(after);
  for (const key of Object.keys(unchanged)) {
    if (key === 'extensions' || key === 'modes') continue;
    assert.deepEqual(now[key], unchanged[key], `window.config.${key} unchanged in value`);
  }
  assertStartsWith(after.extensions, extensions, "the site's extensions, first and in order");
  assertStartsWith(after.modes, modes, "the site's modes, first and in order");
}

test("keeps the site's data sources, modes, name and settings, and adds ChestAid's extension and mode", () => {
  const result = siteWithChestAid();
  assert.deepEqual(result.errors, []);
  assertSiteKept(result);
  const config = result.config();
  assert.equal(config.dataSources.length, 1);
  assert.equal(config.dataSources[0].sourceName, 'st-elsewhere-pacs');
  assert.equal(config.defaultDataSourceName, 'st-elsewhere-pacs');
  assert.equal(config.name, 'St Elsewhere Imaging');
  assert.equal(config.extensions.length, 2);
  assert.equal(config.extensions[0][0], '@st-elsewhere/extension-audit');
  assert.deepEqual(plain(config.modes.slice(0, 2)), ['@ohif/mode-longitudinal', '@ohif/mode-segmentation']);
  assert.equal(config.modes.length, 3);
  assert.equal(config.modes[2].id, 'chestaid');
  const [[extension, settings]] = chestAidEntries(config);
  assert.equal(typeof extension.preRegistration, 'function');
  // The build's defaults under the site's settings.
  assert.deepEqual(
    plain(settings),
    { manifestUrl: MANIFEST_URL, ortWasmPaths: '/chestaid/ort/', pacsRoot: '/pacs/dicom-web', pacsDataSourceName: 'st-elsewhere-pacs', calibrationSource: 'none' },
  );
});

test('included twice, the second copy changes nothing', () => {
  const once = siteWithChestAid(1);
  const twice = siteWithChestAid(2);
  assert.deepEqual(twice.errors, []);
  assertSiteKept(twice);
  assert.equal(chestAidEntries(twice.config()).length, 1);
  assert.equal(twice.config().modes.filter(mode => mode?.id === 'chestaid').length, 1);
  assert.deepEqual(plain(twice.config()), plain(once.config()));
});

test("without the site's settings, the build's defaults: the content-addressed model, no PACS", () => {
  const result = siteWithChestAid(1, SITE_CONFIG.replace(/\n {2}chestaid: \{[\s\S]*?\n {2}\},\n/, '\n'));
  assert.equal(result.site.chestaid, undefined, 'the fixture without its chestaid settings');
  assert.deepEqual(result.errors, []);
  const [[, settings]] = chestAidEntries(result.config());
  assert.deepEqual(plain(settings), { manifestUrl: MANIFEST_URL, ortWasmPaths: '/chestaid/ort/' });
});

test('without window.config it adds nothing and says to include it after app-config.js', () => {
  const browser = browserContext();
  browser.run(snippet, 'chestaid-config.js');
  assert.equal(browser.config(), undefined);
  assert.equal(browser.errors.length, 1);
  assert.match(browser.errors[0], /window\.config is not set: include \/chestaid-config\.js after the site's own app-config\.js/);
});

test('an unknown setting is named, with the known ones, and nothing of ChestAid is added', () => {
  const result = siteWithChestAid(1, SITE_CONFIG.replace("calibrationSource: 'none',", "calibrationSource: 'none', pacsroot: '/typo',"));
  assert.equal(result.errors.length, 1);
  assert.match(result.errors[0], /unknown setting\(s\) pacsroot; the settings are manifestUrl, ortWasmPaths, tfjsWasmPaths, engine, pacsRoot/);
  assert.deepEqual(plain(result.config().extensions), [['@st-elsewhere/extension-audit', { endpoint: '/audit' }]]);
  assert.deepEqual(plain(result.config().modes), ['@ohif/mode-longitudinal', '@ohif/mode-segmentation']);
  assertSiteKept(result);
});

test('a site that already lists the ChestAid packages (a viewer built with them) is left as it is', () => {
  const built = SITE_CONFIG.replace(/extensions: \[.*\],/, `extensions: ['${EXTENSION_ID}'],`).replace(
    "modes: ['@ohif/mode-longitudinal', '@ohif/mode-segmentation'],",
    "modes: ['@ohif/mode-longitudinal', '@chestaid/mode-chestaid'],",
  );
  const result = siteWithChestAid(1, built);
  assert.deepEqual(result.errors, []);
  assert.deepEqual(plain(result.config().extensions), [EXTENSION_ID]);
  assert.deepEqual(plain(result.config().modes), ['@ohif/mode-longitudinal', '@chestaid/mode-chestaid']);
});

test('a configuration given as a function (OHIF accepts one) gets ChestAid in what it returns, once', async () => {
  const asFunction = SITE_CONFIG.replace('window.config = {', 'const siteConfig = {') + '\nwindow.config = async () => siteConfig;\n';
  const browser = browserContext();
  browser.run(asFunction, 'app-config.js');
  browser.run(snippet, 'chestaid-config.js');
  browser.run(snippet, 'chestaid-config.js');
  const config = await browser.config()({ servicesManager: {} });
  assert.deepEqual(browser.errors, []);
  assert.equal(chestAidEntries(config).length, 1);
  assert.equal(config.dataSources[0].sourceName, 'st-elsewhere-pacs');
  assert.equal(config.modes.length, 3);
});

test("the stubs load ChestAid's bundle when OHIF registers them", async () => {
  const { config } = siteWithChestAid();
  const [[extension, settings]] = chestAidEntries(config());
  const args = { configuration: settings };
  await extension.preRegistration(args);
  assert.equal(extension.registeredWith, args, "the bundle's preRegistration ran with OHIF's arguments");
  assert.equal(typeof extension.getPanelModule, 'function', "the bundle's modules are on the registered extension");
  const instance = await config().modes[2].modeFactory({});
  // Registered above; the prebuilt viewer could only import() the package name as a URL.
  assert.deepEqual(plain(instance.extensions), { '@ohif/extension-default': '^3.0.0' });
});

test("the snippet's settings are the extension's configuration, and the deployment page lists each", () => {
  const configSource = readFileSync(join(ROOT, 'extension/src/config.ts'), 'utf8');
  const defaults = configSource.match(/export const DEFAULT_CONFIG: ChestAidConfig = \{([\s\S]*?)\n\};/);
  assert.ok(defaults, 'DEFAULT_CONFIG in extension/src/config.ts');
  const keys = [...defaults[1].matchAll(/^\s+(\w+):/gm)].map(match => match[1]);
  assert.deepEqual([...SETTINGS].sort(), keys.sort());
  const guide = readFileSync(join(ROOT, 'docs/deploying.md'), 'utf8');
  for (const key of SETTINGS) assert.match(guide, new RegExp(`^\\| \`${key}\` \\|`, 'm'), `docs/deploying.md has a table row for ${key}`);
});
