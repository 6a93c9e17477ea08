import { findMemberRange } from '../lib/json-member-range.js'
import { validationProblem, type ValidationProblem } from './campaign-schema.js'

export type MetadataText = { ok: true; json: string } | { ok: false; problem: ValidationProblem }

/**
 * The campaign's `metadata` exactly as Optimove sent it: the bytes of the body's (last)
 * top-level `metadata` member, so that big integers, `1e400`, duplicate keys and whitespace
 * survive into every delivery report, which a parse and re-serialisation would lose.
 * `rawBody` must already be known to be valid JSON with an object `metadata`. A value over
 * `limitBytes` is refused in Optimove's validation-problem shape, since every report copies it.
 */
export function metadataTextOf (rawBody: Buffer, limitBytes: number): MetadataText {
  const range = findMemberRange(rawBody, 'metadata')
  if (range === undefined) return { ok: false, problem: validationProblem({ Metadata: ['The Metadata field is required.'] }) }
  const size = range.end - range.start
  if (size > limitBytes) {
    return { ok: false, problem: validationProblem({ Metadata: [`The Metadata field is ${size} bytes; at most ${limitBytes} bytes are accepted.`] }) }
  }
  return { ok: true, json: rawBody.toString('utf8', range.start, range.end) }
}
