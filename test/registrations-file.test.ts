import t from 'tap'
import { ConfigError, configSecrets, parseConfig } from '../src/config.js'
import { testEnv } from './helper.js'
import { gatewayApiAccounts } from '../src/gatewayapi/accounts.js'

const entry = (name: string, key: string) => ({
  name,
  optimoveBaseUrl: `https://${name}.optimove.example/`,
  appApiKey: `app-${name}`,
  sharedSecret: `secret-${name}`,
  aggregatorApiKey: key,
  senderId: 'Brand'
})
const single = { OPTIMOVE_BASE_URL: undefined, OPTIMOVE_APP_API_KEY: undefined, OPTIMOVE_SHARED_SECRET: undefined, AGGREGATOR_API_KEY: undefined, SENDER_ID: undefined }
const withFile = (content: unknown, env: Record<string, string | undefined> = {}) =>
  parseConfig(testEnv({ ...single, REGISTRATIONS_FILE: '/etc/bridge/registrations.json', ...env }), (path) => {
    if (path !== '/etc/bridge/registrations.json') throw Object.assign(new Error('no such file'), { code: 'ENOENT' })
    return typeof content === 'string' ? content : JSON.stringify(content)
  })
const errorOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  return 'no error'
}

t.test('a registrations file replaces the single-registration variables', async (t) => {
  const config = withFile([entry('tenant-a', 'key-a'), { ...entry('tenant-b', 'key-b'), inboundTo: 'companyB', optimoveApiPrefix: '/api/v1.0/aggregator' }])
  t.same(config.registrations, [
    { id: 'tenant-a', optimoveBaseUrl: 'https://tenant-a.optimove.example', optimoveApiPrefix: '/api/v1/aggregator', appApiKey: 'app-tenant-a', sharedSecret: 'secret-tenant-a', aggregatorApiKey: 'key-a', senderId: 'Brand', inboundTo: 'Brand', expiration: 'P2D', expirationMs: 2 * 86_400_000 },
    { id: 'tenant-b', optimoveBaseUrl: 'https://tenant-b.optimove.example', optimoveApiPrefix: '/api/v1.0/aggregator', appApiKey: 'app-tenant-b', sharedSecret: 'secret-tenant-b', aggregatorApiKey: 'key-b', senderId: 'Brand', inboundTo: 'companyB', expiration: 'P2D', expirationMs: 2 * 86_400_000 }
  ])
  t.same(config.gatewayapi, { baseUrl: 'https://messaging.gatewayapi.com', token: testEnv().GATEWAYAPI_TOKEN, webhookSecret: testEnv().GATEWAYAPI_WEBHOOK_SECRET }, 'the environment\'s GatewayAPI account')
})

t.test('a GatewayAPI account per registration: host, token and webhook secret, each else the environment\'s', async (t) => {
  const config = withFile([entry('a', 'k1'), { ...entry('b', 'k2'), gatewayapiBaseUrl: 'https://messaging.gatewayapi.eu/', gatewayapiToken: 'token-of-b' }])
  t.same(config.registrations.map((r) => r.gatewayapi), [undefined, { baseUrl: 'https://messaging.gatewayapi.eu', token: 'token-of-b' }], 'what each names itself')
  t.same(gatewayApiAccounts(config.registrations, config.gatewayapi).map((a) => [a.name, a.account, a.registrations]), [
    ['default', config.gatewayapi, ['a']],
    ['b', { baseUrl: 'https://messaging.gatewayapi.eu', token: 'token-of-b', webhookSecret: config.gatewayapi.webhookSecret }, ['b']]
  ], 'the rest is the environment\'s')
  const moved = { ...config.gatewayapi, baseUrl: 'http://127.0.0.1:9' }
  t.same(gatewayApiAccounts(config.registrations, moved)[0]!.account, moved, 'a registration without an account of its own follows the environment\'s, however it is changed')
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), gatewayapiBaseUrl: 'messaging.gatewayapi.eu' }])), /\[0\]\.gatewayapiBaseUrl must be an http\(s\) URL/)
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), gatewayapiToken: '' }])), /\[0\]\.gatewayapiToken must not be empty/)
  t.ok(configSecrets(config).includes('token-of-b'), 'its token is a secret (redacted from the logs)')
})

t.test('expiration and default country: per registration, else the environment\'s, checked at startup', async (t) => {
  const config = withFile([entry('a', 'k1'), { ...entry('b', 'k2'), expiration: 'PT12H', defaultCountry: 'se' }], { MESSAGE_EXPIRATION: 'P1D', DEFAULT_COUNTRY: 'dk' })
  t.match(config.registrations, [
    { id: 'a', expiration: 'P1D', expirationMs: 86_400_000, defaultCountry: 'DK' },
    { id: 'b', expiration: 'PT12H', expirationMs: 12 * 3_600_000, defaultCountry: 'SE' }
  ])
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), expiration: 'P6D' }])), /\[0\]\.expiration must be an ISO-8601 duration of at most P5D/)
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), defaultCountry: 'DNK' }])), /\[0\]\.defaultCountry must be an ISO 3166 alpha-2/)
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), defaultCountry: 'XX' }])), /\[0\]\.defaultCountry must be a country with a telephone numbering plan/)
  t.match(errorOf(() => parseConfig(testEnv({ DEFAULT_COUNTRY: 'xx' }))), /^Invalid configuration: DEFAULT_COUNTRY must be a country with a telephone numbering plan/)
  t.match(errorOf(() => parseConfig(testEnv({ MESSAGE_EXPIRATION: 'P1M' }))), /^Invalid configuration: MESSAGE_EXPIRATION must be an ISO-8601 duration/)
  const single = parseConfig(testEnv({ MESSAGE_EXPIRATION: 'P5D' })).registrations[0]!
  t.match(single, { expiration: 'P5D', expirationMs: 5 * 86_400_000 })
  t.notOk('defaultCountry' in single, 'no default country unless configured')
})

t.test('a send rate per registration: optional, more than 0', async (t) => {
  const config = withFile([entry('a', 'k1'), { ...entry('b', 'k2'), maxMessagesPerSecond: 50 }])
  t.notOk('maxMessagesPerSecond' in config.registrations[0]!, 'none unless configured')
  t.equal(config.registrations[1]!.maxMessagesPerSecond, 50)
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), maxMessagesPerSecond: 0 }])), /\[0\]\.maxMessagesPerSecond must be more than 0$/)
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), maxMessagesPerSecond: '50' }])), /\[0\]\.maxMessagesPerSecond is missing or of the wrong type$/)
})

t.test('without a file, the single-registration variables are required', async (t) => {
  t.match(errorOf(() => parseConfig(testEnv({ AGGREGATOR_API_KEY: undefined }))), /^Invalid configuration: AGGREGATOR_API_KEY is required/)
})

t.test('aggregator keys and names must be unique across registrations', async (t) => {
  t.equal(errorOf(() => withFile([entry('a', 'same-key'), entry('b', 'same-key')])),
    'Invalid configuration: REGISTRATIONS_FILE /etc/bridge/registrations.json[1].aggregatorApiKey must be unique across registrations')
  t.equal(errorOf(() => withFile([entry('a', 'k1'), entry('a', 'k2')])),
    'Invalid configuration: REGISTRATIONS_FILE /etc/bridge/registrations.json[1].name must be unique across registrations')
})

t.test('every bad entry and field of the file is named at once, one line each', async (t) => {
  const { appApiKey, ...missingKey } = entry('b', 'k2')
  const lines = errorOf(() => withFile([{ ...entry('a', 'k1'), senderId: 'x' }, missingKey, { ...entry('c', 'k3'), maxMessagesPerSecond: -1 }])).split('\n')
  t.equal(lines.length, 3, 'three problems, three lines')
  t.match(lines[0], /^Invalid configuration: REGISTRATIONS_FILE \/etc\/bridge\/registrations\.json\[0\]\.senderId must be 3-11 letters/)
  t.equal(lines[1], 'Invalid configuration: REGISTRATIONS_FILE /etc/bridge/registrations.json[1].appApiKey is missing or of the wrong type')
  t.equal(lines[2], 'Invalid configuration: REGISTRATIONS_FILE /etc/bridge/registrations.json[2].maxMessagesPerSecond must be more than 0')
})

t.test('a bad entry is named by index and field, without echoing secrets', async (t) => {
  const { appApiKey, ...missingKey } = entry('a', 'k1')
  t.equal(errorOf(() => withFile([entry('ok', 'k0'), missingKey])), 'Invalid configuration: REGISTRATIONS_FILE /etc/bridge/registrations.json[1].appApiKey is missing or of the wrong type')
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), senderId: 'x' }])), /\[0\]\.senderId must be 3-11 letters/)
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), optimoveBaseUrl: 'ftp://secret-host' }])), /\[0\]\.optimoveBaseUrl must be an http\(s\) URL$/)
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), optimoveBaseUrl: 'https://a.optimove.example/?x=1' }])), /\[0\]\.optimoveBaseUrl must not have a query or fragment$/, 'the same rule as OPTIMOVE_BASE_URL')
  t.match(errorOf(() => withFile([{ ...entry('a', 'k1'), typo: 1 }])), /\[0\]/)
  t.match(errorOf(() => withFile([])), /must list at least one registration/)
  t.notMatch(errorOf(() => withFile([{ ...entry('a', 'k1'), sharedSecret: '' }])), /secret-a/)
})

t.test('a missing or unreadable file stops startup with its path', async (t) => {
  t.equal(errorOf(() => parseConfig(testEnv({ ...single, REGISTRATIONS_FILE: '/nope.json' }), () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }) })),
    'Invalid configuration: REGISTRATIONS_FILE /nope.json does not exist')
  t.equal(errorOf(() => withFile('{not json')), 'Invalid configuration: REGISTRATIONS_FILE /etc/bridge/registrations.json is not valid JSON')
})
