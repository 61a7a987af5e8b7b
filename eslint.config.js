// Lint rules: typescript-eslint's recommended set, plus the project's import boundaries.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noTfjs = {
  group: ['@tensorflow/*'],
  message: 'runtime/, format/ and graph/ never import tfjs.',
};
const noCli = { group: ['**/cli/**'], message: 'src/ never imports cli/.' };

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
      'no-restricted-imports': ['error', { patterns: [noCli] }],
      'no-console': 'error',
    },
  },
  {
    // The runtime, the file format and the graph they share load in web pages without tfjs (DESIGN.md).
    files: ['src/runtime/**/*.ts', 'src/format/**/*.ts', 'src/graph/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [noTfjs, noCli] }],
    },
  },
  {
    // The runtime sees the codec only through its entry point, so the codec's files can move (issue 12).
    files: ['src/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noTfjs,
            noCli,
            {
              group: ['**/format/*', '!**/format/index.js'],
              message: 'runtime/ imports format/ only through format/index.js.',
            },
          ],
        },
      ],
    },
  },
  {
    // Functions fit on a screen where the hot paths are planned and run (STYLE.md; issue 12).
    files: ['src/runtime/**/*.ts', 'src/graph/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: false, skipComments: false }],
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
            noCli,
          ],
        },
      ],
    },
  },
);
