// Mutation testing (StrykerJS with its tap runner): `npm run test:mutation -- <files to mutate>`,
// e.g. `npm run test:mutation -- src/optimove/answer-classes.ts`. Scoped to the files given:
// a whole-project run takes hours on two cores. MUTATION_TESTS (a comma-separated list of test
// globs) narrows the tests run as well; by default every test file may be used.
const tests = process.env.MUTATION_TESTS?.split(',').filter((g) => g !== '') ?? ['test/**/*.test.ts']

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  tap: { testFiles: tests, nodeArgs: ['--import', 'tsx'] },
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['data', 'dist', 'reports', '.stryker-tmp', '.tap', 'coverage'],
  cleanTempDir: 'always'
}
