import { count } from './format.js'

/** What the progress display shows; sampled from the store and the simulators. */
export interface ProgressSnapshot {
  elapsedMs: number
  recipients: number
  /** Messages the service stored. */
  accepted: number
  /** Messages GatewayAPI accepted. */
  sent: number
  /** Messages that ended: a final status from GatewayAPI, or failed (e.g. an unusable number). */
  final: number
  /** Messages whose delivery report Optimove accepted. */
  reported: number
  reply: 'waiting' | 'posted' | 'forwarded'
}

export interface ProgressOutput {
  write(text: string): unknown
  columns?: number
}

/** A redrawn one-line bar for a person at a terminal; plain lines for logs, pipes and CI. */
export function isLiveTerminal (stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env.CI !== 'true'
}

const BAR_WIDTH = 20

export function formatBar (done: number, total: number, width = BAR_WIDTH): string {
  const fraction = total === 0 ? 1 : Math.min(1, done / total)
  const filled = Math.round(fraction * width)
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${percent(done, total)}`
}

function percent (done: number, total: number): string {
  return `${String(total === 0 ? 100 : Math.floor(Math.min(1, done / total) * 100)).padStart(3)}%`
}

function counts (s: ProgressSnapshot, separator: string, short = false): string {
  return [
    `${short ? 'acc' : 'accepted'} ${count(s.accepted)}`,
    `sent ${count(s.sent)}`,
    `final ${count(s.final)}`,
    `${short ? 'rep' : 'reported'} ${count(s.reported)}/${count(s.recipients)}`,
    `reply ${s.reply}`
  ].join(separator)
}

/** The live line: bar, counts and elapsed time; a shorter bar and labels, then no bar, as the terminal narrows. */
export function formatLiveLine (s: ProgressSnapshot, terminalColumns?: number): string {
  // Some terminals (and pseudo-terminals) report no width, or 0.
  const columns = terminalColumns !== undefined && terminalColumns >= 40 ? terminalColumns : 120
  const elapsed = `${(s.elapsedMs / 1000).toFixed(1)}s`
  const full = `${formatBar(s.reported, s.recipients)}  ${counts(s, ' · ')} · ${elapsed}`
  if (full.length < columns) return full
  const medium = `${formatBar(s.reported, s.recipients, 10)} · ${counts(s, ' · ', true)} · ${elapsed}`
  if (medium.length < columns) return medium
  const compact = `${percent(s.reported, s.recipients)} · ${counts(s, ' · ', true)} · ${elapsed}`
  return compact.length < columns ? compact : compact.slice(0, columns - 1)
}

/** The plain line, one a second: no control characters. */
export function formatPlainLine (s: ProgressSnapshot): string {
  return `[${(s.elapsedMs / 1000).toFixed(1).padStart(6)}s] ${counts(s, ' | ')}`
}

/**
 * Samples a snapshot on a timer and shows it: on a live terminal the line is redrawn in
 * place every `liveIntervalMs`; otherwise a plain line is printed every `plainIntervalMs`.
 * Samples never overlap, and the timer never keeps the process alive.
 */
export class ProgressDisplay {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false
  private drawn = false

  constructor (
    private readonly out: ProgressOutput,
    readonly live: boolean,
    private readonly sample: () => Promise<ProgressSnapshot>,
    private readonly intervals: { liveMs: number; plainMs: number } = { liveMs: 100, plainMs: 1000 }
  ) {}

  start (): void {
    this.schedule()
  }

  /** Shows the last state (and ends the live line) and stops sampling. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
    this.draw(await this.sample())
    if (this.live && this.drawn) this.out.write('\n')
  }

  /** Ends a live line before something else is printed (e.g. an error). */
  interrupt (): void {
    if (this.live && this.drawn) {
      this.out.write('\n')
      this.drawn = false
    }
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.running = this.sample().then((s) => { if (!this.stopped) this.draw(s) }, () => {}).finally(() => this.schedule())
    }, this.live ? this.intervals.liveMs : this.intervals.plainMs)
    this.timer.unref()
  }

  private draw (s: ProgressSnapshot): void {
    if (this.live) {
      this.out.write(`\r${formatLiveLine(s, this.out.columns)}\x1b[K`)
      this.drawn = true
    } else {
      this.out.write(`${formatPlainLine(s)}\n`)
    }
  }
}
