import type { FastifyReply } from 'fastify'
import { z } from 'zod'

/** Stable error codes of our HTTP answers; the message tells the caller what to fix. */
export const ERROR_CODES = {
  unauthorized: { status: 401, code: 'UNAUTHORIZED' },
  badRequest: { status: 400, code: 'BAD_REQUEST' },
  notFound: { status: 404, code: 'NOT_FOUND' },
  payloadTooLarge: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  unsupportedMediaType: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  unavailable: { status: 503, code: 'SERVICE_UNAVAILABLE' },
  internal: { status: 500, code: 'INTERNAL_ERROR' }
} as const

export type ErrorKind = keyof typeof ERROR_CODES

/** The body of every error answer of ours. */
export const errorBodySchema = z.object({
  message: z.string().meta({ description: 'What went wrong, and what to fix' }),
  code: z.enum(Object.values(ERROR_CODES).map((c) => c.code) as [string, ...string[]])
})

/** Sends `{message, code}` with the kind's status. */
export function sendError (reply: FastifyReply, kind: ErrorKind, message: string): FastifyReply {
  const { status, code } = ERROR_CODES[kind]
  return reply.code(status).send({ message, code })
}
