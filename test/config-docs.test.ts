import t from 'tap'
import { readFileSync } from 'node:fs'
import { CONFIG_VARIABLES } from '../src/config.js'
import { ROOT } from './helper.js'

// The README's configuration table and .env.example are the operator's reference: every
// variable the service reads is in both, and neither names one it does not read.
const readme = readFileSync(`${ROOT}/README.md`, 'utf8')
const envExample = readFileSync(`${ROOT}/.env.example`, 'utf8')
const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### Many registrations'))
const inTable = new Set([...table.matchAll(/^\| `([A-Z0-9_]+)`(?: \/ `([A-Z0-9_]+)`)? \|/gm)].flatMap((m) => [m[1]!, ...(m[2] ? [m[2]] : [])]))
const inExample = new Set([...envExample.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!))

t.test('every setting is in the README\'s configuration table and in .env.example', async (t) => {
  t.ok(CONFIG_VARIABLES.length > 30)
  for (const name of CONFIG_VARIABLES) {
    t.ok(inTable.has(name), `${name} in the README table`)
    t.ok(inExample.has(name), `${name} in .env.example`)
  }
  t.same([...inTable].filter((n) => !CONFIG_VARIABLES.includes(n)), [], 'the table names no variable the service does not read')
  t.same([...inExample].filter((n) => !CONFIG_VARIABLES.includes(n)), [], '.env.example names none either')
})
