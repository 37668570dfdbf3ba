/**
 * Loads a packed package's built entry as a site's bundler would, in a process of its own:
 * `node loadEntry.cjs <node_modules dir> <package name>` prints what the entry exposes as JSON.
 *
 * What the host viewer provides (react, react-dom, @ohif/*, @cornerstonejs/*) is a stub; a package
 * the entry declares as a dependency is taken from this workspace's node_modules, as npm would
 * install it; anything else makes the load fail, naming it.
 */
const Module = require('node:module');
const path = require('node:path');

const [nodeModules, name] = process.argv.slice(2);
const ROOT = path.join(__dirname, '../..');
const HOST = /^(react|react-dom|@ohif\/[^/]+|@cornerstonejs\/[^/]+)(\/|$)/;
const STUB = path.join(__dirname, 'hostStub.cjs');

/** What the package holding `file` declares (dependencies and peers). */
function declaredBy(file) {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const { name: owner, dependencies = {}, peerDependencies = {} } = require(path.join(dir, 'package.json'));
      return { owner, names: new Set([...Object.keys(dependencies), ...Object.keys(peerDependencies)]) };
    } catch {
      // no package.json here: look further up
    }
  }
  throw new Error(`no package.json above ${file}`);
}
const packageOf = request => (request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0]);

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request.startsWith('.') || path.isAbsolute(request) || request.startsWith('node:')) return resolve.call(this, request, parent, ...rest);
  if (HOST.test(request)) return STUB;
  try {
    return resolve.call(this, request, parent, ...rest);
  } catch (error) {
    const { owner, names } = declaredBy(parent.filename);
    if (!names.has(packageOf(request))) throw new Error(`${owner} requires ${request}, which its package.json does not declare`);
    return require.resolve(request, { paths: [ROOT] });
  }
};

// webpack's automatic public path reads the script that loads the bundle (the site's own chunk).
globalThis.document = { currentScript: { tagName: 'SCRIPT', src: 'https://viewer.example/app.bundle.js' }, baseURI: 'https://viewer.example/' };

const entry = require(path.join(nodeModules, name));
const plugin = entry.default;
const described = { id: plugin.id, exports: Object.keys(entry).sort(), members: Object.keys(plugin).sort() };
if (typeof plugin.modeFactory === 'function') {
  const instance = plugin.modeFactory({ modeConfiguration: {} });
  described.extensions = instance.extensions;
  described.rightPanels = instance.routes[0].layoutTemplate().props.rightPanels;
  described.valid = { CR: instance.isValidMode({ modalities: 'CR' }).valid, CT: instance.isValidMode({ modalities: 'CT' }).valid };
} else {
  described.panelId = entry.panelId;
  described.panels = plugin.getPanelModule({ servicesManager: { services: {} }, extensionManager: {}, commandsManager: {} }).map(panel => panel.name);
}
process.stdout.write(JSON.stringify(described));
