/** Unit tests of the extension, the mode and the triage worker (the e2e tests in test/e2e run separately, in Chromium). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/extension/src', '<rootDir>/mode/src', '<rootDir>/worker/src'],
  testMatch: ['**/*.test.ts', '**/*.test.tsx'],
  transform: { '^.+\\.tsx?$': ['ts-jest', { tsconfig: { module: 'commonjs', jsx: 'react-jsx', esModuleInterop: true, resolveJsonModule: true, isolatedModules: true } }] },
};
