import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Store } from '../core/store/store.js'
import type { Clock } from '../lib/clock.js'
import { sendError } from '../errors.js'
import { secretsEqual } from '../lib/constant-time.js'
import { OPS_COMMANDS, OpsNotFoundError, OpsUsageError, opsParams } from '../ops/commands.js'

export interface AdminApiOptions {
  store: Store
  /** ADMIN_TOKEN: the bearer token every call must carry; unset, the admin API refuses every call. */
  token: string | undefined
  clock: Clock
}

/** Where each operator's command is on the admin listener: `/admin/v1/<command>`. */
export const ADMIN_API_PREFIX = '/admin/v1'

/**
 * The operator's commands (`npm run ops`) as an HTTP API on the admin listener, each answering
 * what the command prints: a command that only reads is a `GET` with its parameters in the query
 * string, one that changes the store a `POST` with them in a JSON body. Every call carries
 * `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant time, never logged); without
 * ADMIN_TOKEN the API is off and says so. Parameters that do not fit are a 400, naming them;
 * what a command should act on and does not exist, a 404.
 */
export async function adminApi (app: FastifyInstance, { store, token, clock }: AdminApiOptions): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    if (token === undefined) return sendError(reply, 'unauthorized', 'the admin API is off: set ADMIN_TOKEN to use it')
    const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (given === undefined || !secretsEqual(given, token)) return sendError(reply, 'unauthorized', 'missing or invalid Authorization: Bearer <ADMIN_TOKEN>')
  })
  for (const [name, command] of Object.entries(OPS_COMMANDS)) {
    const { changes } = command
    app.route({
      method: changes ? 'POST' : 'GET',
      url: `${ADMIN_API_PREFIX}/${name}`,
      handler: async (request: FastifyRequest, reply) => {
        try {
          const params = opsParams(command, changes ? request.body : request.query)
          const result = await command.run(store, params, clock.now())
          // The action, never its parameters (a phone number to erase is personal data).
          if (changes) request.log.info({ command: name }, 'operator\'s command done')
          return result
        } catch (err) {
          if (err instanceof OpsUsageError) return sendError(reply, 'badRequest', `${name}: ${err.message}`)
          if (err instanceof OpsNotFoundError) return sendError(reply, 'notFound', err.message)
          throw err
        }
      }
    })
  }
}
