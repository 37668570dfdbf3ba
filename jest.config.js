/** Unit tests of @chestaid/core, the extension, the mode and the triage worker (the e2e tests in test/e2e run separately, in Chromium). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/core/src', '<rootDir>/extension/src', '<rootDir>/mode/src', '<rootDir>/worker/src'],
  // Workspace packages are tested from their TypeScript sources, as webpack bundles them.
  testEnvironmentOptions: { customExportConditions: ['source', 'node', 'node-addons'] },
  testMatch: ['**/*.test.ts', '**/*.test.tsx'],
  // The mode's tests import the extension's entry (its ids); the workers it would start are the
  // bundler's (import.meta.url): test/jest/inferenceBrowser.cjs stands in for browser.ts and
  // choiceBrowser.ts, the two ways the extension reaches them.
  moduleNameMapper: { '^(\\.{1,2}/)+inference/(browser|choiceBrowser)$': '<rootDir>/test/jest/inferenceBrowser.cjs' },
  // id.js (the ids the mode and the host share) is an ES module, so ts-jest compiles it too.
  transform: { '^.+\\.[tj]sx?$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', jsx: 'react-jsx', esModuleInterop: true, resolveJsonModule: true, isolatedModules: true } }] },
};
