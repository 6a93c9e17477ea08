// `npm start`'s first step: compiles src/ to dist/ (`tsc -p tsconfig.build.json`) when
// dist/main.js is missing or older than any source file, so that the service always runs
// compiled, as the Docker image runs it, and a fresh checkout needs no separate build.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const built = join(root, 'dist', 'main.js')

/** The newest modification time of the files under `dir`. */
function newest (dir) {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return latest
}

const sources = Math.max(newest(join(root, 'src')), statSync(join(root, 'tsconfig.json')).mtimeMs, statSync(join(root, 'tsconfig.build.json')).mtimeMs)
if (!existsSync(built) || statSync(built).mtimeMs < sources) {
  process.stderr.write('compiling src/ to dist/ …\n')
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
}
