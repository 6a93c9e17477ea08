// Adds up how many requests and events were held to GatewayAPI's OpenAPI document over a test run.
//
//   rm -rf /tmp/contract-counts
//   GATEWAYAPI_CONTRACT_COUNTS=/tmp/contract-counts npm test     (or npx tap <files>)
//   node test/contract/count.mjs /tmp/contract-counts             (or with the variable still set)
//
// Each test process that checked anything appends one line to counts.jsonl in that folder as it
// exits (test/contract/contract-counts.ts); this prints the total, then the lines by file.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.argv[2] ?? process.env.GATEWAYAPI_CONTRACT_COUNTS
if (dir === undefined || dir === '') {
  console.error('usage: node test/contract/count.mjs <folder given as GATEWAYAPI_CONTRACT_COUNTS to the test run>')
  process.exit(2)
}
const file = join(dir, 'counts.jsonl')
if (!existsSync(file)) {
  console.log(`GatewayAPI contract: nothing checked (no ${file}; was the run given GATEWAYAPI_CONTRACT_COUNTS=${dir}?)`)
  process.exit(0)
}
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
const total = lines.reduce((sum, l) => ({ requests: sum.requests + l.requests, events: sum.events + l.events, violations: sum.violations + l.violations }), { requests: 0, events: 0, violations: 0 })
console.log(`GatewayAPI contract: ${total.requests} requests and ${total.events} events checked against the OpenAPI document in ${lines.length} test files; ${total.violations} violations`)
for (const l of lines.sort((a, b) => a.file.localeCompare(b.file))) console.log(`  ${l.file}: ${l.requests} requests, ${l.events} events, ${l.violations} violations`)
