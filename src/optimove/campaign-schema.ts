import { z } from 'zod'
import { readScheduledTime, type ScheduledTime } from './scheduled-time.js'

/**
 * An optional text field: a string as sent; a number or boolean as its JSON text; `null`,
 * absent or anything else (an object, an array) as absent. Never a reason to refuse a batch.
 */
const optionalText = z.unknown().optional().transform((value): string | undefined => {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
})

/** One recipient, exactly as a sendable one must be typed. */
const recipientSchema = z.looseObject({
  mobileNumber: z.string({ error: 'mobileNumber is missing or not a string' })
    .meta({ description: 'The number to text, in any usual notation (+45 20 12 34 56, 004520123456, or national with the registration\'s default country); echoed as given in its delivery report', examples: ['+4520123456'] }),
  message: z.string({ error: 'message is missing or not a string' }).meta({ description: 'The text, personalised', examples: ['Hi Anna, 20% off until Sunday'] }),
  customerId: optionalText.meta({ description: 'Optimove\'s customer id, echoed in the delivery report (a number is read as its digits)' })
}, { error: 'recipient is not an object' })
  .meta({ description: 'A recipient of another shape fails alone (reported Failed/InvalidRecipient); the batch is still accepted' })

/**
 * A recipient as the intake sees it: `typed` when its fields have the types a message needs,
 * else `malformed`, with the reason and whatever of it can be echoed in its delivery report.
 */
export type CampaignRecipient =
  | { kind: 'typed'; mobileNumber: string; message: string; customerId: string }
  | { kind: 'malformed'; givenNumber: string; message: string; customerId: string; reason: string }

/**
 * A recipient of the wrong shape (not an object, a `null` or numeric `mobileNumber`, a missing
 * or non-string `message`) fails alone as `InvalidRecipient`; the batch is still accepted.
 */
function readRecipient (value: unknown): CampaignRecipient {
  const typed = recipientSchema.safeParse(value)
  if (typed.success) {
    return { kind: 'typed', mobileNumber: typed.data.mobileNumber, message: typed.data.message, customerId: typed.data.customerId ?? '' }
  }
  const fields = value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : {}
  const number = fields.mobileNumber
  return {
    kind: 'malformed',
    // Echoed in the report as Optimove sent it, as far as text can: a number as its digits.
    givenNumber: typeof number === 'string' || typeof number === 'number' ? String(number) : '',
    message: typeof fields.message === 'string' ? fields.message : '',
    customerId: optionalText.parse(fields.customerId) ?? '',
    reason: [...new Set(typed.error.issues.map((issue) => issue.message))].join('; ')
  }
}

/**
 * What intake reads of `metadata`: its `scheduledTime`, when it is an object. The metadata
 * itself is kept as its exact text from the raw body (see metadataTextOf).
 */
export interface CampaignMetadata {
  scheduledTime: ScheduledTime
}

function readMetadata (value: unknown): CampaignMetadata {
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value)
  return { scheduledTime: isObject ? readScheduledTime((value as Record<string, unknown>).scheduledTime) : { kind: 'none' } }
}

/** The body's outer shape: the only part whose type can refuse a campaign. */
const campaignBodySchema = z.looseObject({
  batchId: optionalText.meta({ description: 'Optimove\'s batch id (text; a number is read as its digits; null or absent as empty)' }),
  requestId: optionalText.meta({ description: 'Optimove\'s request id; with batchId and the body it makes the idempotency key' }),
  senderId: optionalText.meta({ description: 'The sender to text from; absent or empty: the registration\'s SENDER_ID' }),
  metadata: z.unknown().optional().meta({ description: 'Kept byte for byte and echoed in every delivery report; `metadata.scheduledTime` (ISO-8601) delays sending' }),
  recipients: z.array(z.unknown(), { error: 'The Recipients field must be an array.' }).nullish()
}, { error: 'The request body must be a JSON object.' })

/** The body as the API's documents show it: each recipient with the shape a sendable one has. */
export const campaignBodyDocument = campaignBodySchema.extend({ recipients: z.array(recipientSchema).nullish() })
  .meta({ description: 'Optimove\'s campaign transmission. Unknown fields are tolerated everywhere.' })

/** Our answer to a campaign taken (stored durably before it is sent), or recognised as one taken before. */
export const campaignAnswerSchema = z.object({
  message: z.literal('Campaign accepted'),
  batchId: z.string(),
  requestId: z.string(),
  accepted: z.number().int().min(0).meta({ description: 'Recipients stored for sending' }),
  rejected: z.number().int().min(0).meta({ description: 'Recipients failed at once (each gets its delivery report)' }),
  duplicate: z.literal(true).optional().meta({ description: 'The same campaign was taken before: nothing new is sent, the counts are the first acceptance\'s' })
})

/** Optimove's own validation-error body (ASP.NET problem details), for a body we cannot take. */
export const validationProblemSchema = z.object({
  title: z.literal('One or more validation errors occurred.'),
  status: z.literal(400),
  errors: z.record(z.string(), z.array(z.string()))
})

/**
 * Optimove's campaign transmission body (spec section 2), read as liberally as real bodies
 * need: only a body that is not a JSON object, or a `recipients` that is present but not an
 * array, is refused. `batchId`, `requestId` and `senderId` may be `null` or absent (read as
 * empty); `metadata` may be absent or `null` (reports then carry `{}`); `recipients` may be
 * absent or `null` (no recipients). Each recipient is checked alone (see readRecipient).
 * Unknown fields are tolerated everywhere. The output has exactly the fields intake uses.
 */
export const campaignRequestSchema = campaignBodySchema.transform((body) => ({
  batchId: body.batchId ?? '',
  requestId: body.requestId ?? '',
  /** Absent when not given; an empty string is given (and means "the registration's"). */
  senderId: body.senderId,
  metadata: readMetadata(body.metadata),
  recipients: (body.recipients ?? []).map(readRecipient)
}))

export type CampaignRequest = z.infer<typeof campaignRequestSchema>

export type ValidationProblem = z.infer<typeof validationProblemSchema>

export function validationProblem (errors: Record<string, string[]>): ValidationProblem {
  return { title: 'One or more validation errors occurred.', status: 400, errors }
}

/** `['recipients', 3, 'mobileNumber']` → `Recipients[3].MobileNumber`, as Optimove names fields. */
export function optimoveFieldPath (path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '$'
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else {
      const name = String(key)
      out += (out === '' ? '' : '.') + name.charAt(0).toUpperCase() + name.slice(1)
    }
  }
  return out
}

/** Groups zod's issues by Optimove field path, at most `limit` fields so a huge bad batch stays a small answer. */
export function campaignValidationProblem (error: z.ZodError, limit = 50): ValidationProblem {
  const errors: Record<string, string[]> = {}
  let fields = 0
  for (const issue of error.issues) {
    const field = optimoveFieldPath(issue.path)
    const list = errors[field]
    if (list !== undefined) list.push(issue.message)
    else if (fields++ < limit) errors[field] = [issue.message]
  }
  return validationProblem(errors)
}
