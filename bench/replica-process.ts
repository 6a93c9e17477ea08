import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { benchEnv } from './bench-config.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** One service process of a benchmark, as it is deployed (`node dist/main.js`, configured by its environment). */
export interface Replica {
  url: string
  child: ChildProcess
  stderr: () => string
  /** SIGTERM (a graceful stop), SIGKILL after 30 s; resolves when it has exited. */
  stop: () => Promise<void>
}

const running = new Set<ChildProcess>()
// A benchmark that fails or is interrupted leaves no service behind.
process.once('exit', () => { for (const child of running) killGroup(child, 'SIGKILL') })

function killGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal)
  } catch {}
}

let built = false
/** Compiles the service once per benchmark (`npm run build`), so that it runs as the Docker image runs it, without tsx. */
function buildOnce (): void {
  if (built) return
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' })
  built = true
}

/**
 * Starts the service, compiled from the sources as they are now, on 127.0.0.1:`port` with the
 * benchmark's credentials and these variables on top (undefined: left unset).
 */
export function spawnReplica (port: number, env: Record<string, string | undefined>): Replica {
  buildOnce()
  // BENCH_SERVICE_NODE_ARGS go to the service's node: `--cpu-prof --cpu-prof-dir=…` profiles it.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
  const child = spawn(process.execPath, [...nodeArgs, 'dist/main.js'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, ...benchEnv({ PORT: String(port), LOG_LEVEL: 'warn', PUBLIC_URL: `http://127.0.0.1:${port}`, ...env }) }
  })
  running.add(child)
  let stderr = ''
  child.stderr!.on('data', (chunk) => { stderr += String(chunk) })
  const exited = once(child, 'exit').finally(() => running.delete(child))
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      killGroup(child, 'SIGTERM')
      const late = setTimeout(() => killGroup(child, 'SIGKILL'), 30_000)
      await exited
      clearTimeout(late)
    }
  }
}

/** Polls the public `/health` until it answers 200: the service listens once its store is open (a benchmark may poll; a test may not). */
export async function ready (replica: Replica): Promise<void> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const answer = await request(`${replica.url}/health`).then(async (res) => { await res.body.dump(); return res.statusCode }, () => 0)
    if (answer === 200) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`replica ${replica.url} not ready within 60 s; its stderr: ${replica.stderr()}`)
}

/** A process's resident memory now and at its peak (Linux's VmRSS and VmHWM), in bytes; zeros once it is gone. */
export function residentMemory (pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
    return { rss: kb('VmRSS'), peak: kb('VmHWM') }
  } catch {
    return { rss: 0, peak: 0 }
  }
}
