// Lint rules: typescript-eslint's recommended set, plus the project's import boundaries.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'src/**/generated/',
      'assembly/',
      'runs/',
      'bench/results/',
      '.scratch/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', performance: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Nothing in the library reaches into the CLI; the library never prints.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/cli/**'], message: 'src/ never imports cli/.' }] },
      ],
      'no-console': 'error',
    },
  },
  {
    // The runtime, the file format and the graph they share load in web pages without tfjs (DESIGN.md).
    files: ['src/runtime/**/*.ts', 'src/format/**/*.ts', 'src/graph/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@tensorflow/*'],
              message: 'runtime/, format/ and graph/ never import tfjs.',
            },
            { group: ['**/cli/**'], message: 'src/ never imports cli/.' },
          ],
        },
      ],
    },
  },
  {
    // Reports sit below the experiments that fill them (docs/STRUCTURE.md): experiments/ imports report/.
    files: ['src/report/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/experiments/**'],
              message: 'report/ never imports experiments/ (it sits a floor below them).',
            },
            { group: ['**/cli/**'], message: 'src/ never imports cli/.' },
          ],
        },
      ],
    },
  },
);
