import { z } from 'zod'

const text = z.union([z.string(), z.number().transform(String)])

/**
 * Optimove's campaign transmission body (spec section 2). Unknown fields are tolerated
 * everywhere; `batchId`, `brandId` and `campaignId` may be empty strings (auto replies).
 * Recipients are checked for type only: an unusable number or text fails that one
 * message later, it never rejects the batch.
 */
export const campaignRequestSchema = z.looseObject({
  batchId: z.string(),
  requestId: z.string().optional(),
  senderId: z.string().optional(),
  metadata: z.looseObject({
    scheduledTime: z.number().nullable().optional()
  }),
  recipients: z.array(z.looseObject({
    message: z.string(),
    mobileNumber: text,
    customerId: text.nullable().optional()
  })).min(1, 'at least one recipient is required')
})

export type CampaignRequest = z.infer<typeof campaignRequestSchema>

/** Optimove's own validation-error body (ASP.NET problem details). */
export interface ValidationProblem {
  title: 'One or more validation errors occurred.'
  status: 400
  errors: Record<string, string[]>
}

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
