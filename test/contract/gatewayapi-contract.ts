import { readFileSync } from 'node:fs'
import ajv2020 from 'ajv/dist/2020.js'
import ajvFormats from 'ajv-formats'
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js'
import type { ContractCheck } from '../../src/sim/gatewayapi.js'
import { tally } from './contract-counts.js'

/**
 * GatewayAPI's contract as a machine checks it: its published OpenAPI document
 * (test/fixtures/gatewayapi-openapi.json, a copy of the one our spec cites) compiled with ajv's
 * JSON Schema 2020-12 validator, which is the dialect of OpenAPI 3.1. The simulated GatewayAPI
 * takes the result as its `contract`, so that every request our client sends in a test, and
 * every event the simulator posts, is shown to fit the document rather than the simulator's
 * reading of it.
 *
 * Read with the document's own rules, plus three that make it exact:
 * - `gt`, `ge`, `lt`, `le`: the document bounds numbers with pydantic's keywords (`recipient`
 *   is `gt: 1000, le: 999999999999999`), which JSON Schema does not define and would ignore;
 *   here they mean exclusiveMinimum, minimum, exclusiveMaximum and maximum.
 * - Closed objects: an object schema with `properties` and no `additionalProperties` admits no
 *   other property. GatewayAPI would drop a field it does not know, and with it our intent; a
 *   simulated event with a field the document lacks could make our parser lean on an invention.
 * - Formats (`date-time`, `duration`) are asserted, as JSON Schema defines them (RFC 3339's
 *   grammars), not merely annotated: they are part of what the document says.
 * A keyword the document uses that neither JSON Schema nor this list knows stops the build, so
 * that a newer document cannot be read more loosely than it is written.
 *
 * Replies (`user-message.text.sms`) are not in the document: its webhook schema lists status
 * events only. They are checked against REPLY_SCHEMA, written from GatewayAPI's webhook
 * documentation, with the envelope's `event_id` and `timestamp` taken from the document.
 */

const DOCUMENT_ID = 'gatewayapi-openapi.json'
const DOCUMENT_URL = new URL('../fixtures/gatewayapi-openapi.json', import.meta.url)

/** pydantic's bounds as the JSON Schema keywords that mean the same. */
const BOUNDS = { gt: 'exclusiveMinimum', ge: 'minimum', lt: 'exclusiveMaximum', le: 'maximum' } as const

/** A JSON pointer into the document, for a `$ref` that resolves against it. */
function documentRef (...segments: string[]): { $ref: string } {
  return { $ref: `${DOCUMENT_ID}#/${segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}` }
}

const REQUEST_SCHEMA_OF = (path: string) => documentRef('paths', path, 'post', 'requestBody', 'content', 'application/json', 'schema')
const WEBHOOK_SCHEMA = documentRef('webhooks', 'Messaging Webhook', 'post', 'requestBody', 'content', 'application/json', 'schema')
const ENVELOPE_FIELD = (name: string) => documentRef('components', 'schemas', 'PhoneMessageWebhookEvent', 'properties', name)

/**
 * An inbound SMS event, from GatewayAPI's webhook documentation (the OpenAPI document has none):
 * `{"event_id","timestamp","event_type":"user-message.text.sms","event":{"msg_id","sender":<integer
 * MSISDN>,"sent_at":"<ISO>","content":{"message","encoding","header"}}}`. Closed like the
 * document's objects; no type is given beyond what that documentation says.
 */
const REPLY_SCHEMA = {
  type: 'object',
  required: ['event_id', 'timestamp', 'event_type', 'event'],
  additionalProperties: false,
  properties: {
    event_id: ENVELOPE_FIELD('event_id'),
    timestamp: ENVELOPE_FIELD('timestamp'),
    event_type: { const: 'user-message.text.sms' },
    event: {
      type: 'object',
      required: ['msg_id', 'sender', 'sent_at', 'content'],
      additionalProperties: false,
      properties: {
        msg_id: { type: 'string' },
        sender: { type: 'integer' },
        sent_at: { type: 'string', format: 'date-time' },
        content: {
          type: 'object',
          required: ['message', 'encoding', 'header'],
          additionalProperties: false,
          properties: { message: { type: 'string' }, encoding: { type: 'string' }, header: {} }
        }
      }
    }
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The document with every object schema of its components closed (see above); the file is left as it is. */
function closedDocument (document: { components: { schemas: Record<string, Json> } }): typeof document {
  const copy = structuredClone(document)
  const close = (schema: Json): void => {
    if (schema === null || typeof schema !== 'object') return
    if (Array.isArray(schema)) return schema.forEach(close)
    if (schema.properties !== undefined && !('additionalProperties' in schema)) schema.additionalProperties = false
    for (const [keyword, value] of Object.entries(schema)) {
      if (keyword === 'properties' && value !== null && typeof value === 'object') Object.values(value).forEach(close)
      else if (['items', 'anyOf', 'allOf', 'oneOf', 'not', 'additionalProperties', 'prefixItems'].includes(keyword)) close(value)
    }
  }
  Object.values(copy.components.schemas).forEach(close)
  return copy
}

/** JSON Schema's annotations: they assert nothing, so the validator rightly has no code for them. */
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', '$comment'])

/** Keywords of these schemas that the validator does not know (it would skip them without a word). */
function unknownKeywords (ajv: InstanceType<typeof ajv2020.default>, schemas: Json[]): string[] {
  const unknown = new Set<string>()
  const walk = (schema: Json): void => {
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return
    for (const [keyword, value] of Object.entries(schema)) {
      if (!ANNOTATIONS.has(keyword) && ajv.getKeyword(keyword) === false) unknown.add(keyword)
      if (keyword === 'properties' && value !== null && typeof value === 'object') Object.values(value).forEach(walk)
      else if (Array.isArray(value) && ['anyOf', 'allOf', 'oneOf', 'prefixItems'].includes(keyword)) value.forEach(walk)
      else if (['items', 'not', 'additionalProperties'].includes(keyword)) walk(value)
    }
  }
  schemas.forEach(walk)
  return [...unknown]
}

/** The value at a JSON pointer of `data`, for naming what broke a rule. */
function valueAt (data: unknown, pointer: string): unknown {
  let value = data
  for (const raw of pointer.split('/').slice(1)) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[raw.replaceAll('~1', '/').replaceAll('~0', '~')]
  }
  return value
}

/** One line per rule broken: where, what the rule says, and the value that broke it. */
function describe (errors: readonly ErrorObject[] | null | undefined, data: unknown): string[] {
  // A bound's own error only repeats the one of the standard keyword it expands to.
  const lines = (errors ?? []).filter((e) => !(e.keyword in BOUNDS)).map((e) => {
    const where = e.instancePath === '' ? '(body)' : e.instancePath
    const extra = e.keyword === 'additionalProperties'
      ? `: ${String(e.params.additionalProperty)}`
      : e.keyword === 'enum' ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''
    const value = valueAt(data, e.instancePath)
    const json = value === undefined || (typeof value === 'object' && value !== null) ? undefined : JSON.stringify(value)
    const got = json === undefined ? '' : `, got ${json.length > 60 ? `${json.slice(0, 60)}…` : json}`
    return `${where} ${e.message ?? e.keyword}${extra}${got}`
  })
  return [...new Set(lines)]
}

interface Validators {
  single: ValidateFunction
  multi: ValidateFunction
  status: ValidateFunction
  reply: ValidateFunction
}

function compile (): Validators {
  const document = JSON.parse(readFileSync(DOCUMENT_URL, 'utf8'))
  // strict: false, because an OpenAPI document is more than a schema (`paths`, `info`, …) and
  // carries keywords JSON Schema lacks; those that matter are defined below and checked for.
  const ajv = new ajv2020.default({ strict: false, allErrors: true })
  ajvFormats.default(ajv)
  for (const [keyword, standard] of Object.entries(BOUNDS)) {
    ajv.addKeyword({ keyword, type: 'number', schemaType: 'number', macro: (limit: number) => ({ [standard]: limit }) })
  }
  const unknown = unknownKeywords(ajv, Object.values(document.components.schemas))
  if (unknown.length > 0) throw new Error(`GatewayAPI's OpenAPI document uses keywords the contract check does not know: ${unknown.join(', ')}`)
  ajv.addSchema(closedDocument(document), DOCUMENT_ID)
  return {
    single: ajv.compile(REQUEST_SCHEMA_OF('/mobile/single')),
    multi: ajv.compile(REQUEST_SCHEMA_OF('/mobile/multi')),
    status: ajv.compile(WEBHOOK_SCHEMA),
    reply: ajv.compile(REPLY_SCHEMA)
  }
}

let validators: Validators | undefined

/** Runs a compiled schema over `data`: the violations, one line each. */
function violationsOf (validate: ValidateFunction, data: unknown): string[] {
  return validate(data) ? [] : describe(validate.errors, data)
}

/**
 * The contract check the simulated GatewayAPI takes (compiled once per process, on first use).
 * Every request and event it checks is counted as traffic (see contract-counts.ts), unless
 * `counted` is false: for the checks a test makes to see a violation on purpose.
 */
export function gatewayApiContract (options: { counted?: boolean } = {}): ContractCheck {
  validators ??= compile()
  const v = validators
  const count = options.counted === false ? () => {} : tally
  return {
    request (path, body) {
      const violations = violationsOf(path === '/mobile/single' ? v.single : v.multi, body)
      count('requests', violations.length)
      return violations
    },
    event (envelope) {
      const type = envelope.event_type
      const violations = violationsOf(typeof type === 'string' && type.startsWith('user-message.') ? v.reply : v.status, envelope)
      count('events', violations.length)
      return violations
    }
  }
}
