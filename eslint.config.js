// ESLint flat config for the packages (core, extension, mode, worker, cli) (TypeScript strict is enforced by tsc).
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'build/**', '.ohif/**', 'test/bench/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['core/src/**/*.ts', 'extension/src/**/*.{ts,tsx}', 'mode/src/**/*.{ts,tsx}', 'worker/src/**/*.ts', 'cli/**/*.ts'],
    rules: {
      'no-console': ['error', { allow: ['warn', 'error'] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read fixtures with dcmjs, which ships no types: a typed require is the honest way.
    files: ['**/*.test.ts', '**/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['extension/src/id.js'],
    languageOptions: { sourceType: 'module' },
  },
);
