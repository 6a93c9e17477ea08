import type { FastifyInstance } from 'fastify'
import type { Store } from '../core/store/store.js'
import { sendError } from '../errors.js'
import { secretsEqual } from '../lib/constant-time.js'
import { OPS_COMMANDS } from '../ops/commands.js'

export interface AdminApiOptions {
  store: Store
  /** ADMIN_TOKEN: the bearer token every call must carry; unset, the admin API refuses every call. */
  token: string | undefined
}

/** Where each operator's command is on the admin listener: `GET /admin/v1/<command>`. */
export const ADMIN_API_PREFIX = '/admin/v1'

/**
 * The operator's commands (`npm run ops`) as an HTTP API on the admin listener, each answering
 * what the command prints. Every call carries `Authorization: Bearer <ADMIN_TOKEN>` (compared in
 * constant time, never logged); without ADMIN_TOKEN the API is off and says so.
 */
export async function adminApi (app: FastifyInstance, { store, token }: AdminApiOptions): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    if (token === undefined) return sendError(reply, 'unauthorized', 'the admin API is off: set ADMIN_TOKEN to use it')
    const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (given === undefined || !secretsEqual(given, token)) return sendError(reply, 'unauthorized', 'missing or invalid Authorization: Bearer <ADMIN_TOKEN>')
  })
  for (const [name, command] of Object.entries(OPS_COMMANDS)) {
    app.get(`${ADMIN_API_PREFIX}/${name}`, async () => command.run(store, []))
  }
}
