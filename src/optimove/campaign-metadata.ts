import { findMemberRange } from '../lib/json-member-range.js'
import { validationProblem, type ValidationProblem } from './campaign-schema.js'

export type MetadataText = { ok: true; json: string } | { ok: false; problem: ValidationProblem }

/** What the delivery reports carry when the campaign had no metadata (absent or `null`). */
export const NO_METADATA_JSON = '{}'

/**
 * The campaign's `metadata` exactly as Optimove sent it: the bytes of the body's (last)
 * top-level `metadata` member, so that big integers, `1e400`, duplicate keys and whitespace
 * survive into every delivery report, which a parse and re-serialisation would lose.
 * `parsed` is the member's value as JSON.parse read the same body (already known to be a valid
 * JSON object). An absent or `null` metadata is kept as `{}`, so that reports always carry an
 * object; any other value (an array, a string) is kept verbatim like an object, since Optimove
 * wants back what it sent. A value over `limitBytes` is refused in Optimove's validation-problem
 * shape, since every report copies it.
 */
export function metadataTextOf (rawBody: Buffer, limitBytes: number, parsed: unknown): MetadataText {
  if (parsed === undefined || parsed === null) return { ok: true, json: NO_METADATA_JSON }
  const range = findMemberRange(rawBody, 'metadata')
  // The scanner reads what JSON.parse read; should they ever disagree, a re-serialised copy
  // (equal in meaning) beats losing the metadata or refusing the campaign.
  const json = range === undefined ? JSON.stringify(parsed) : rawBody.toString('utf8', range.start, range.end)
  const size = range === undefined ? Buffer.byteLength(json) : range.end - range.start
  if (size > limitBytes) {
    return { ok: false, problem: validationProblem({ Metadata: [`The Metadata field is ${size} bytes; at most ${limitBytes} bytes are accepted.`] }) }
  }
  return { ok: true, json }
}
