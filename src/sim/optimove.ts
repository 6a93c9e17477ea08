import { EventEmitter, once } from 'node:events'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { request } from 'undici'
import { secretsEqual } from '../lib/constant-time.js'
import { signHubSignature, verifyHubSignature } from '../lib/hmac-signature.js'
import { listenOnLoopback, readBody, sendJson, streamLargeBody, trickleBody } from './http-server.js'

export type OptimoveEndpoint = 'handshake' | 'delivery-report' | 'incoming-message'

export interface SimOptimoveOptions {
  appApiKey: string
  sharedSecret: string
  apiPrefix?: string
  port?: number
}

export interface ReceivedCall {
  endpoint: OptimoveEndpoint
  headers: IncomingMessage['headers']
  body: unknown
  /** What the simulator answered. */
  status: number
  /** Body bytes sent, once the answer ended or the client cut it (see the 'answered' event). */
  bytesSent?: number
}

export interface ScriptedReply {
  status: number
  body?: unknown
  headers?: Record<string, string>
  /** Send the headers at once, then the body one byte every `trickleMs` milliseconds. */
  trickleMs?: number
  /** Stream a body of this many bytes (instead of `body`), as fast as the client reads it. */
  streamBytes?: number
  /** Runs before the answer is sent, e.g. to call the aggregator back mid-handshake. */
  before?: () => Promise<void>
}

/**
 * A simulated Optimove: its three aggregator endpoints on 127.0.0.1, checking `app-api-key`
 * and `x-hub-signature` as Optimove does (400 without a token, 401 for a wrong one or a bad
 * signature), recording every valid call, and scriptable to answer chosen statuses.
 * It also plays Optimove's other role: posting signed campaigns to the URL we registered.
 * Emits 'call' when a valid call arrived and 'answered' once its answer ended or was cut.
 */
export class SimOptimove extends EventEmitter {
  readonly calls: ReceivedCall[] = []
  private readonly scripts = new Map<OptimoveEndpoint, ScriptedReply[]>()
  private readonly registeredPayloads = new Set<string>()
  /** What the last successful handshake registered. */
  registration: { aggregatorApiKey: string; campaignSendUrl: string; senderId: string } | undefined
  private server: Awaited<ReturnType<typeof listenOnLoopback>> | undefined

  constructor (readonly options: SimOptimoveOptions) {
    super()
  }

  get apiPrefix (): string {
    return this.options.apiPrefix ?? '/api/v1/aggregator'
  }

  /** The BASE_URL a tenant would hand us. */
  get baseUrl (): string {
    if (this.server === undefined) throw new Error('simulated Optimove is not started')
    return this.server.url
  }

  async start (): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res), this.options.port)
    return this
  }

  async close (): Promise<void> {
    await this.server?.close()
  }

  /** The next calls to `endpoint` get these answers, in order, before normal service resumes. */
  script (endpoint: OptimoveEndpoint, ...replies: ScriptedReply[]): void {
    this.scripts.set(endpoint, [...(this.scripts.get(endpoint) ?? []), ...replies])
  }

  /** Drops the answers still scripted for `endpoint`: normal service resumes at once. */
  clearScript (endpoint: OptimoveEndpoint): void {
    this.scripts.delete(endpoint)
  }

  received (endpoint: OptimoveEndpoint): ReceivedCall[] {
    return this.calls.filter((c) => c.endpoint === endpoint)
  }

  /** Resolves with the next call to `endpoint`. */
  async nextCall (endpoint: OptimoveEndpoint): Promise<ReceivedCall> {
    for (;;) {
      const [call] = (await once(this, 'call')) as [ReceivedCall]
      if (call.endpoint === endpoint) return call
    }
  }

  /** Posts a campaign as Optimove does: `X-API-Key` and `x-hub-signature` over the exact bytes. */
  async sendCampaign (body: unknown, overrides: { url?: string; apiKey?: string; signature?: string } = {}): Promise<{ status: number; body: any }> {
    const url = overrides.url ?? this.registration?.campaignSendUrl
    const apiKey = overrides.apiKey ?? this.registration?.aggregatorApiKey
    if (url === undefined || apiKey === undefined) throw new Error('no handshake yet: nowhere to send a campaign')
    const raw = typeof body === 'string' ? body : JSON.stringify(body)
    const res = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Optimove-SMS-API-simulator',
        'x-api-key': apiKey,
        'x-hub-signature': overrides.signature ?? signHubSignature(raw, this.options.sharedSecret)
      },
      body: raw
    })
    return { status: res.statusCode, body: await res.body.json() }
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req)
    const path = (req.url ?? '').split('?')[0] ?? ''
    const endpoint = (['handshake', 'delivery-report', 'incoming-message'] as const).find((e) => path === `${this.apiPrefix}/${e}`)
    if (req.method !== 'POST' || endpoint === undefined) return sendJson(res, 404, { message: 'Not Found' })

    const token = req.headers['app-api-key']
    if (typeof token !== 'string' || token === '') return sendJson(res, 400, { message: 'API token, appId, or tenantId is missing.' })
    if (!secretsEqual(token, this.options.appApiKey)) return sendJson(res, 401, { message: 'Unauthorized: invalid API token.' })
    if (!verifyHubSignature(req.headers['x-hub-signature'], raw, this.options.sharedSecret).ok) {
      return sendJson(res, 401, { message: 'Unauthorized: invalid signature.' })
    }
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      return sendJson(res, 400, problem({ $: ['The JSON value could not be converted.'] }))
    }

    const scripted = this.scripts.get(endpoint)?.shift()
    const reply = scripted ?? this.answer(endpoint, body, raw)
    await reply.before?.()
    const call: ReceivedCall = { endpoint, headers: req.headers, body, status: reply.status }
    this.calls.push(call)
    if (reply.trickleMs !== undefined || reply.streamBytes !== undefined) {
      this.emit('call', call)
      call.bytesSent = reply.streamBytes !== undefined
        ? await streamLargeBody(res, reply.status, reply.streamBytes, reply.headers)
        : await trickleBody(res, reply.status, reply.body, reply.trickleMs!, reply.headers)
    } else {
      sendJson(res, reply.status, reply.body, reply.headers)
      call.bytesSent = Number(res.getHeader('content-length'))
      this.emit('call', call)
    }
    this.emit('answered', call)
  }

  private answer (endpoint: OptimoveEndpoint, body: unknown, raw: Buffer): ScriptedReply {
    if (endpoint === 'delivery-report') {
      const b = body as { type?: { status?: unknown; subStatus?: unknown }; metadata?: unknown } | null
      const errors: Record<string, string[]> = {}
      if (typeof b?.type?.status !== 'string' || b.type.status === '') errors['Type.Status'] = ['The Status field is required.']
      if (typeof b?.metadata !== 'object' || b.metadata === null) errors.Metadata = ['The Metadata field is required.']
      return Object.keys(errors).length > 0 ? { status: 400, body: problem(errors) } : { status: 200, body: { message: 'Delivery report received' } }
    }
    if (endpoint === 'incoming-message') {
      const messages = (body as { messages?: unknown } | null)?.messages
      const valid = Array.isArray(messages) && messages.length > 0 && messages.every((m) =>
        ['to', 'from', 'message', 'sentAt'].every((f) => typeof (m as Record<string, unknown>)?.[f] === 'string'))
      return valid ? { status: 200, body: { message: 'Incoming messages received' } } : { status: 400, body: problem({ Messages: ['Each message needs to, from, message and sentAt.'] }) }
    }
    const fields = ['aggregatorApiKey', 'campaignSendUrl', 'senderId'] as const
    const errors: Record<string, string[]> = {}
    for (const field of fields) {
      const value = (body as Record<string, unknown> | null)?.[field]
      if (typeof value !== 'string' || value === '') {
        const name = field.charAt(0).toUpperCase() + field.slice(1)
        errors[name] = [`The ${name} field is required.`]
      }
    }
    if (Object.keys(errors).length > 0) return { status: 400, body: problem(errors) }
    const key = raw.toString('utf8')
    if (this.registeredPayloads.has(key)) {
      return { status: 409, body: { title: 'Duplicate Handshake', message: 'A handshake with the same payload already exists.', code: 40901, traceId: randomUUID() } }
    }
    this.registeredPayloads.add(key)
    this.registration = body as SimOptimove['registration']
    return { status: 200, body: { message: 'Handshake completed successfully', processedAt: new Date().toISOString() } }
  }
}

function problem (errors: Record<string, string[]>): unknown {
  return { title: 'One or more validation errors occurred.', status: 400, errors }
}
