// ESLint (typescript-eslint, type-aware). The workflow rules follow Temporal's TypeScript samples:
// workflow code runs in a deterministic sandbox, so no Node built-ins and no value imports of
// activities (or of anything that reaches the database or the SDK's worker) in workflow code: each
// domain's workflow.ts, the worker's list of them, and what they import (contracts, shared/).
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// The workflow sandbox provides `assert`.
const SANDBOX_BUILTINS = new Set(['assert']);
const NODE_BUILTINS = builtinModules.filter((m) => !m.startsWith('_') && !SANDBOX_BUILTINS.has(m)).flatMap((m) => [m, `node:${m}`]);

// Entry points (cmd/) are started, never imported.
const ENTRY_POINTS = {
  group: ['**/cmd/*'],
  message: 'cmd/ holds entry points only; move what you need into a module both can import.',
};

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', '.tools/', '.data/', '.scratch/', 'notifier/', 'test/histories/', 'bench/results/', '**/*.d.ts'],
  },
  {
    files: ['**/*.{ts,tsx,js,mjs}'],
    plugins: { '@typescript-eslint': tseslint.plugin },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits loses its failure (and in a workflow, its ordering).
      '@typescript-eslint/no-floating-promises': 'error',
      // An async callback where a void one is expected: its rejection goes nowhere. JSX handlers
      // and the like (attributes) are fire-and-forget by design and catch their own errors.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'no-restricted-imports': ['error', { patterns: [ENTRY_POINTS] }],
    },
  },
  {
    // Scripts outside both tsconfigs: linted without type information.
    files: ['**/*.{js,mjs}'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['app/*/workflow.ts', 'app/*/contract.ts', 'app/*/statuses.ts', 'workers/workflows.ts', 'shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.map((name) => ({ name, message: 'Workflow code runs in a sandbox without Node built-ins; do this in an activity.' })),
          patterns: [ENTRY_POINTS],
        },
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/activities', '**/activities.js', '**/repository.js', '**/service.js', '**/routes.js', '**/db/**', '**/dev/**', '**/workers/**', '**/platform/**', '**/api/**'],
              allowTypeImports: true,
              message: 'Workflows call activities through proxyActivities; import their types only.',
            },
            {
              group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker'],
              allowTypeImports: true,
              message: 'Not available in the workflow sandbox; import types only (or use @temporalio/workflow).',
            },
          ],
        },
      ],
    },
  },
);
