import t from 'tap'
import { classifyOptimoveAnswer } from '../../src/optimove/answer-classes.js'

const NOW = Date.parse('2026-01-01T00:00:00Z')
const problem = { title: 'One or more validation errors occurred.', status: 400, errors: { Metadata: ['The Metadata field is required.'] } }

t.test('each answer of Optimove to a report or a reply, and what it means for the row', async (t) => {
  const table: Array<[string, Parameters<typeof classifyOptimoveAnswer>[0], Record<string, unknown>]> = [
    ['200', { status: 200, body: { message: 'Delivery report received' } }, { kind: 'done' }],
    ['202 (any 2xx)', { status: 202, body: undefined }, { kind: 'done' }],
    ['409: Optimove already has it', { status: 409, body: { title: 'Duplicate' } }, { kind: 'done' }],
    ['429 with Retry-After seconds', { status: 429, body: { message: 'slow down' }, retryAfter: '7' }, { kind: 'pause', retryAfterMs: 7000, alert: false }],
    ['429 with an HTTP date', { status: 429, body: undefined, retryAfter: 'Thu, 01 Jan 2026 00:00:30 GMT' }, { kind: 'pause', retryAfterMs: 30_000, alert: false }],
    ['429 without Retry-After', { status: 429, body: undefined }, { kind: 'pause', alert: false }],
    ['401: credentials refused', { status: 401, body: { message: 'Unauthorized: invalid API token.' } }, { kind: 'pause', alert: true, reason: /HTTP 401: Unauthorized/ }],
    ['403', { status: 403, body: undefined }, { kind: 'pause', alert: true }],
    ['404: a wrong base URL', { status: 404, body: { message: 'Not Found' } }, { kind: 'pause', alert: true }],
    ['400 with a validation body: parked', { status: 400, body: problem }, { kind: 'park', reason: /Metadata: The Metadata field is required\./ }],
    ['400 without one: retried, alert', { status: 400, body: { message: 'API token, appId, or tenantId is missing.' } }, { kind: 'retry', alert: true }],
    ['422: retried, alert', { status: 422, body: problem }, { kind: 'retry', alert: true }],
    ['301: retried, alert', { status: 301, body: undefined, location: 'https://elsewhere.example/' }, { kind: 'retry', alert: true, reason: /redirect to https:\/\/elsewhere\.example\// }],
    ['500: retried', { status: 500, body: { message: 'Internal error' } }, { kind: 'retry' }],
    ['a 1xx is no answer: retried, alert', { status: 100, body: undefined }, { kind: 'retry', alert: true, reason: /^HTTP 100:/ }],
    ['300 is a redirect, not a success', { status: 300, body: undefined }, { kind: 'retry', alert: true, reason: /HTTP 300 redirect to \(no Location header\)/ }],
    ['299 is still a success', { status: 299, body: undefined }, { kind: 'done' }],
    ['400 with empty errors: not a validation body', { status: 400, body: { title: 'x', errors: {} } }, { kind: 'retry', alert: true }],
    ['400 with errors null', { status: 400, body: { errors: null } }, { kind: 'retry', alert: true }],
    ['400 with no body at all', { status: 400, body: undefined }, { kind: 'retry', alert: true }],
    ['400 whose body is null', { status: 400, body: null }, { kind: 'retry', alert: true }],
    ['503: retried', { status: 503, body: undefined }, { kind: 'retry' }]
  ]
  for (const [name, reply, expected] of table) t.match(classifyOptimoveAnswer(reply, NOW), expected, name)
  t.notOk('retryAfterMs' in classifyOptimoveAnswer({ status: 429, body: undefined }, NOW), 'no Retry-After: the worker\'s own pause applies')
  t.notOk(classifyOptimoveAnswer({ status: 500, body: undefined }, NOW).kind === 'retry' && (classifyOptimoveAnswer({ status: 500, body: undefined }, NOW) as { alert?: boolean }).alert === true, 'a 5xx is not an alert')
})
