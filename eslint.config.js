// ESLint (flat config) with typescript-eslint's type-aware recommended rules;
// `npm run lint` runs it with --max-warnings 0.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', '.contsup/**'] },
  {
    files: ['{protocol,engine,client,server,cli,bench,test}/**/*.ts', 'web/src/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // Each file is checked with its nearest tsconfig.json (root, web/, test/).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // `const { lr: _lr, ...rest } = msg` is how the code drops a field.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // The code writes `values[i]!` wherever an index may be out of range, as
      // noUncheckedIndexedAccess would demand; without that compiler option
      // this rule calls every such `!` unnecessary (155 of them).
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // Config files sit outside every tsconfig: the rules that need no types.
    files: ['*.{js,mjs,ts}', 'web/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
);
