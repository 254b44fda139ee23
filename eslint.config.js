import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const ROOT = fileURLToPath(new URL('.', import.meta.url));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.phoenix/**', '.bench/**', '.tools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  // The dashboard runs in the browser as a plain script (uPlot is loaded before it as a global).
  {
    files: ['src/server/public/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, uPlot: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // No import cycles in the product: a cycle makes load order matter and hides which layer depends on which.
  // Imports name the compiled `.js`; the resolver finds the `.ts` beside it.
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  // Stand-ins (src/stand-ins/) serve the lab and the tests: a product module that imported one would ship a fake.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/stand-ins/**', 'src/lab/**', 'src/**/*.test.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: ROOT,
          zones: [
            {
              target: './src',
              from: './src/stand-ins',
              message: 'Only the lab (src/lab/) and tests may import a stand-in; see docs/architecture.md.',
            },
          ],
        },
      ],
    },
  },
);
