import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { createLogger } from '../src/logger.js'
import { startService } from '../src/service.js'
import { ROOT, testConfig } from './helper.js'

// The alert rules and the Grafana dashboard in docker/ query only metrics the service exports,
// and the rules are valid for Prometheus (`promtool check rules`, from Debian's prometheus package).

const RULES = `${ROOT}/docker/alert-rules.yml`
const DASHBOARD = `${ROOT}/docker/grafana-dashboard.json`

/** The metric names a PromQL text uses (ours, the process's, Node.js's). */
const metricNames = (promql: string): string[] => [...promql.matchAll(/\b((?:bridge|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!)

/** Every series name the running service exports: each family, and a histogram's _bucket, _sum and _count. */
async function exported (t: Test): Promise<Set<string>> {
  const service = await startService(testConfig(), { logger: createLogger('silent') })
  t.teardown(() => service.stop())
  const text = await (await request(`${service.adminUrl}/metrics`)).body.text()
  const names = new Set<string>()
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!)
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix)
  }
  return names
}

t.test('the alert rules and the dashboard query only metrics the service exports', async (t) => {
  const names = await exported(t)
  const rules = [...readFileSync(RULES, 'utf8').matchAll(/^\s*expr: (.+)$/gm)].map((m) => m[1]!)
  t.ok(rules.length >= 10, `${rules.length} alert rules`)
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> }
  const queries = dashboard.panels.flatMap((p) => p.targets.map((q) => q.expr))
  t.ok(queries.length >= 10, `${queries.length} dashboard queries`)
  for (const expr of [...rules, ...queries]) {
    const used = metricNames(expr)
    t.ok(used.length > 0, `${expr}: names a metric`)
    for (const name of used) t.ok(names.has(name), `${name} is exported`)
  }
})

/** Whether a command is on the PATH. */
const onPath = (command: string): boolean => (process.env.PATH ?? '').split(delimiter).some((dir) => existsSync(join(dir, command)))

// CI installs promtool (.ci/run) and must run this; a developer's machine may not have it.
const promtoolSkip = !onPath('promtool') && process.env.CI !== 'true' ? { skip: 'promtool is not installed (Debian: apt-get install prometheus)' } : {}

t.test('promtool accepts the alert rules', promtoolSkip, async (t) => {
  const { stdout } = await promisify(execFile)('promtool', ['check', 'rules', RULES])
  const written = readFileSync(RULES, 'utf8').match(/^\s*- alert: /gm)!.length
  t.match(stdout, new RegExp(`SUCCESS: ${written} rules found`), `all ${written} rules read and valid`)
})
