import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { ROOT } from './helper.js'

// The README's guarantees table names, for each promise, the test that fails when it breaks:
// each named file must exist and hold a test of that name (a prefix or part of it).
const readme = readFileSync(`${ROOT}/README.md`, 'utf8')
const section = readme.slice(readme.indexOf('## Guarantees'), readme.indexOf('## Limits'))
const rows = [...section.matchAll(/^\| (.+?) \| `(test\/[^`]+\.test\.ts)`: (.+?) \|$/gm)].map((m) => ({ promise: m[1]!, file: m[2]!, name: m[3]! }))

t.test('every row of the guarantees table names a test that exists', async (t) => {
  t.ok(rows.length >= 40, `${rows.length} rows`)
  for (const row of rows) {
    const path = `${ROOT}/${row.file}`
    if (!existsSync(path)) {
      t.fail(`${row.file} does not exist (${row.promise})`)
      continue
    }
    // Test names are string literals in the source, with \' for an apostrophe.
    const source = readFileSync(path, 'utf8')
    const named = [...source.matchAll(/t\.test\((['`])((?:\\.|(?!\1).)*)\1/g)].map((m) => m[2]!.replaceAll("\\'", "'"))
    t.ok(named.some((n) => n.includes(row.name)), `${row.file} has a test "${row.name}"`)
  }
})
