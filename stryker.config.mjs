// Mutation testing (StrykerJS with its tap runner): `npm run test:mutation -- <files to mutate>`,
// e.g. `npm run test:mutation -- src/optimove/answer-classes.ts`. Scoped to the files given:
// a whole-project run takes hours on two cores. MUTATION_TESTS (a comma-separated list of test
// globs) narrows the tests run as well; by default every test file may be used.
// MUTATION_RUN names the run (its report and sandbox), so that two runs can go side by side.
const tests = process.env.MUTATION_TESTS?.split(',').filter((g) => g !== '') ?? ['test/**/*.test.ts']
const run = process.env.MUTATION_RUN ?? 'mutation'

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/*', './test/mutation/log-call-ignorer.mjs'],
  ignorers: ['log-calls'],
  tap: { testFiles: tests, nodeArgs: ['--import', 'tsx'] },
  coverageAnalysis: 'perTest',
  concurrency: 1,
  // Added to 1.5 × the covering tests' own time: a mutant that hangs a loop costs seconds, not a minute.
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${run}.json` },
  tempDirName: `.stryker-tmp/${run}`,
  // A later run of the same name re-runs only the mutants whose code or covering tests changed.
  incremental: true,
  incrementalFile: `reports/mutation/${run}.incremental.json`,
  ignorePatterns: ['data', 'dist', 'reports', '.stryker-tmp', '.tap', 'coverage'],
  cleanTempDir: 'always'
}
