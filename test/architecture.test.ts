import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import t from 'tap'

// The folder layout is the architecture: these rules keep it true.
const root = resolve(import.meta.dirname, '..')
const src = join(root, 'src')

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** Each source file (relative to src/) and the project files it imports (type-only imports included). */
const imports = new Map(sources(src).map((file) => {
  const text = readFileSync(file, 'utf8')
  const targets = [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) => relative(src, resolve(dirname(file), `${m[1]}.ts`)))
  return [relative(src, file), targets] as const
}))

t.test('no import circles', async (t) => {
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (file: string): void => {
    state.set(file, 'open')
    path.push(file)
    for (const target of imports.get(file) ?? []) {
      if (state.get(target) === 'open') cycles.push([...path.slice(path.indexOf(target)), target].join(' → '))
      else if (state.get(target) === undefined) visit(target)
    }
    path.pop()
    state.set(file, 'done')
  }
  for (const file of imports.keys()) if (state.get(file) === undefined) visit(file)
  t.same(cycles, [])
})

t.test('the core knows neither peer nor HTTP; production code never imports the simulators', async (t) => {
  const offending = [...imports].flatMap(([file, targets]) => targets
    .filter((target) => (file.startsWith('core/') && /^(optimove|gatewayapi|http|sim)\//.test(target)) ||
      (!file.startsWith('sim/') && !file.startsWith('demo/') && target.startsWith('sim/')))
    .map((target) => `${file} → ${target}`))
  t.same(offending, [])
})
