/**
 * The rules that keep ChestAid's shape (STYLE.md 17-19), run by scripts/test.sh:
 *   npx depcruise core extension mode worker cli
 * A violation fails the tests. Each rule says why in its comment; docs/architecture.md, "Rules",
 * shows the packages they protect.
 */
const PACKAGES = '^(core|extension|mode|worker|cli)/';
const TESTS = '(\\.test\\.tsx?$|/testing/)';

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'A cycle makes two modules one: neither can be read, tested or moved without the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-no-framework',
      comment: '@chestaid/core runs in the viewer, a Web Worker, the triage worker and the CLI: no React, OHIF, Cornerstone or onnxruntime (adapters in the other packages bind those).',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: 'node_modules/(react|react-dom|@ohif|@cornerstonejs|onnxruntime-[a-z]+|@chestaid/(extension|mode|worker|cli))(/|$)' },
    },
    {
      name: 'core-only-its-dependencies',
      comment: 'The core depends on ajv (schemas) and dcmjs (DICOM) alone; adding a package to it is a decision for core/package.json, not a side effect.',
      severity: 'error',
      from: { path: '^core/src/', pathNot: TESTS },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-peer', 'npm-optional', 'npm-no-pkg', 'npm-unknown'], pathNot: 'node_modules/(ajv|dcmjs)/' },
    },
    {
      name: 'core-node-builtins-only-in-node-entry',
      comment: "The viewer bundles @chestaid/core: Node's built-ins belong to the file store that only @chestaid/core/node exports.",
      severity: 'error',
      from: { path: '^core/src/', pathNot: `${TESTS}|^core/src/(node|siteCalibration/fileStore)\\.ts$` },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'viewer-not-node-entry',
      comment: "The viewer (extension, mode) runs in the browser: @chestaid/core/node (Node's file system) is for the worker, the CLI and tests.",
      severity: 'error',
      from: { path: '^(extension|mode)/', pathNot: TESTS },
      to: { path: '^core/src/(node\\.ts$|siteCalibration/fileStore\\.ts$)' },
    },
    {
      name: 'testing-only-from-tests',
      comment: '@chestaid/core/testing holds fixtures: product code never imports it.',
      severity: 'error',
      from: { pathNot: TESTS },
      to: { path: '^core/src/testing/' },
    },
    {
      name: 'no-relative-import-across-packages',
      comment: 'A package is used through its name and entry (@chestaid/core), never by reaching into its folder with ../',
      severity: 'error',
      from: { path: PACKAGES },
      to: { dependencyTypes: ['local'], path: PACKAGES, pathNot: '^$1/' },
    },
    {
      name: 'no-non-package-json',
      comment: "Every package a package imports is in its own package.json: a site installs the extension and the mode from their tarballs, with nothing of this workspace's root around them.",
      severity: 'error',
      // Tests run in this workspace, with the root's devDependencies (jest, fake-indexeddb).
      from: { path: PACKAGES, pathNot: TESTS },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      comment: "Product code imports dependencies and peers only. @chestaid/core is the exception: it is compiled into the extension's built dist (webpack.packages.config.js), not installed beside it.",
      severity: 'error',
      from: { path: PACKAGES, pathNot: TESTS },
      to: { dependencyTypes: ['npm-dev'], pathNot: '^core/' },
    },
    {
      name: 'no-page-from-non-ui',
      comment: 'Pages are leaves of the UI: services, stores, the core, the worker and the CLI must not import one (the CLI once imported from the pages folder).',
      severity: 'error',
      from: { pathNot: '(\\.tsx$|/customization\\.ts$)' },
      to: { path: 'Page\\.tsx$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.json', '.d.ts'],
      mainFields: ['main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
