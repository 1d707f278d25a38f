// ESLint flat config: typescript-eslint's type-checked rules on every package and the tests.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'packages/cli/bundled/**',
      'packages/cli/bin/**',
      'eslint.config.js',
      'scripts/**',
      'bench/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Errors are data in actors; callbacks often take `unknown` and narrow it.
      '@typescript-eslint/only-throw-error': 'off',
      // XState's inferred types need assertions this rule cannot see the need for.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: ['**/test/**/*.ts', 'test/**/*.ts'],
    rules: {
      // node:test's describe/it return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Stand-in methods and handlers are async to match the real signatures.
      '@typescript-eslint/require-await': 'off',
    },
  },
);
