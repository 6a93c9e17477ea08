import { once } from 'node:events'
import t, { type Test } from 'tap'
import { CAMPAIGN_SEND_PATH, ConfigError, configSecrets, parseConfig } from '../src/config.js'
import { spawnService, testEnv } from './helper.js'

const REQUIRED = [
  'PUBLIC_URL',
  'OPTIMOVE_BASE_URL',
  'OPTIMOVE_APP_API_KEY',
  'OPTIMOVE_SHARED_SECRET',
  'AGGREGATOR_API_KEY',
  'SENDER_ID',
  'GATEWAYAPI_TOKEN',
  'GATEWAYAPI_WEBHOOK_SECRET'
] as const

const SECRET_VARIABLES = [
  'OPTIMOVE_APP_API_KEY',
  'OPTIMOVE_SHARED_SECRET',
  'AGGREGATOR_API_KEY',
  'GATEWAYAPI_TOKEN',
  'GATEWAYAPI_WEBHOOK_SECRET'
] as const

/** Every variable the service reads, to check that an error names only the one at fault. */
const ALL_VARIABLES = [
  ...REQUIRED, 'HOST', 'PORT', 'LOG_LEVEL', 'OPTIMOVE_API_PREFIX', 'GATEWAYAPI_BASE_URL', 'DATABASE_URL',
  'CAMPAIGN_BODY_LIMIT_BYTES', 'HANDSHAKE_MAX_ATTEMPTS', 'HANDSHAKE_BASE_DELAY_MS', 'HANDSHAKE_MAX_DELAY_MS'
]

/** The ConfigError that parsing this environment throws; fails the test if it does not throw one. */
function configErrorOf (t: Test, env: Record<string, string | undefined>): ConfigError | undefined {
  try {
    parseConfig(env)
  } catch (err) {
    t.type(err, ConfigError, 'throws a ConfigError')
    return err instanceof ConfigError ? err : undefined
  }
  t.fail('parseConfig did not throw')
  return undefined
}

/** Asserts the message is one line naming `variable` and no other variable. */
function assertNames (t: Test, message: string, variable: string): void {
  t.notOk(message.includes('\n'), 'message is one line')
  t.match(message, new RegExp(`\\b${variable}\\b`), `message names ${variable}`)
  for (const other of ALL_VARIABLES) {
    if (other !== variable) t.notMatch(message, new RegExp(`\\b${other}\\b`), `message does not name ${other}`)
  }
}

t.test('defaults apply when optional variables are unset', async (t) => {
  const config = parseConfig(testEnv({ HOST: undefined, PORT: undefined, LOG_LEVEL: undefined, DATABASE_URL: undefined }))
  t.equal(config.host, '0.0.0.0')
  t.equal(config.port, 3000)
  t.equal(config.logLevel, 'info')
  t.equal(config.gatewayapi.baseUrl, 'https://messaging.gatewayapi.com')
  t.equal(config.databaseUrl, 'sqlite:./data/bridge.db')
  t.equal(config.campaignBodyLimitBytes, 32 * 1024 * 1024, '32 MiB')
})

t.test('an empty variable counts as unset and falls back to its default', async (t) => {
  const config = parseConfig(testEnv({ HOST: '', PORT: '', LOG_LEVEL: '', GATEWAYAPI_BASE_URL: '', DATABASE_URL: '', CAMPAIGN_BODY_LIMIT_BYTES: '' }))
  t.equal(config.host, '0.0.0.0')
  t.equal(config.port, 3000)
  t.equal(config.logLevel, 'info')
  t.equal(config.gatewayapi.baseUrl, 'https://messaging.gatewayapi.com')
  t.equal(config.databaseUrl, 'sqlite:./data/bridge.db')
  t.equal(config.campaignBodyLimitBytes, 32 * 1024 * 1024)
})

t.test('set variables override the defaults, numbers parsed as numbers', async (t) => {
  const config = parseConfig(testEnv({
    HOST: '::1',
    PORT: '8080',
    LOG_LEVEL: 'debug',
    GATEWAYAPI_BASE_URL: 'http://127.0.0.1:9999',
    DATABASE_URL: 'sqlite:/var/lib/bridge/bridge.db',
    CAMPAIGN_BODY_LIMIT_BYTES: '1048576'
  }))
  t.equal(config.host, '::1')
  t.equal(config.port, 8080)
  t.equal(config.logLevel, 'debug')
  t.equal(config.gatewayapi.baseUrl, 'http://127.0.0.1:9999')
  t.equal(config.databaseUrl, 'sqlite:/var/lib/bridge/bridge.db')
  t.equal(config.campaignBodyLimitBytes, 1048576)
})

t.test('campaignSendUrl is PUBLIC_URL + the campaign path, without a doubled slash', async (t) => {
  t.equal(CAMPAIGN_SEND_PATH, '/api/v1/campaigns/send')
  const cases: Array<[string, string]> = [
    ['https://sms.example.com', 'https://sms.example.com/api/v1/campaigns/send'],
    ['https://sms.example.com/', 'https://sms.example.com/api/v1/campaigns/send'],
    ['https://example.com/bridge', 'https://example.com/bridge/api/v1/campaigns/send'],
    ['https://example.com/bridge/', 'https://example.com/bridge/api/v1/campaigns/send'],
    ['http://127.0.0.1:3000/', 'http://127.0.0.1:3000/api/v1/campaigns/send']
  ]
  for (const [publicUrl, sendUrl] of cases) {
    const config = parseConfig(testEnv({ PUBLIC_URL: publicUrl }))
    t.equal(config.campaignSendUrl, sendUrl, publicUrl)
    t.notOk(config.publicUrl.endsWith('/'), `publicUrl has no trailing slash (${publicUrl})`)
  }
})

t.test('OPTIMOVE_BASE_URL and GATEWAYAPI_BASE_URL lose a trailing slash', async (t) => {
  const config = parseConfig(testEnv({ OPTIMOVE_BASE_URL: 'https://optimove.example/', GATEWAYAPI_BASE_URL: 'https://gw.example/' }))
  t.equal(config.registrations[0]?.optimoveBaseUrl, 'https://optimove.example')
  t.equal(config.gatewayapi.baseUrl, 'https://gw.example')
  const unchanged = parseConfig(testEnv({ OPTIMOVE_BASE_URL: 'https://optimove.example' }))
  t.equal(unchanged.registrations[0]?.optimoveBaseUrl, 'https://optimove.example', 'no slash: unchanged')
})

t.test('each variable lands in its place', async (t) => {
  const env = testEnv()
  const config = parseConfig(env)
  t.equal(config.registrations.length, 1)
  const reg = config.registrations[0]!
  t.equal(reg.appApiKey, env.OPTIMOVE_APP_API_KEY)
  t.equal(reg.sharedSecret, env.OPTIMOVE_SHARED_SECRET)
  t.equal(reg.aggregatorApiKey, env.AGGREGATOR_API_KEY)
  t.equal(reg.senderId, env.SENDER_ID)
  t.equal(config.gatewayapi.token, env.GATEWAYAPI_TOKEN)
  t.equal(config.gatewayapi.webhookSecret, env.GATEWAYAPI_WEBHOOK_SECRET)
})

for (const variable of REQUIRED) {
  t.test(`missing ${variable} is a ConfigError naming it`, async (t) => {
    for (const [how, value] of [['unset', undefined], ['empty', '']] as const) {
      const err = configErrorOf(t, testEnv({ [variable]: value }))
      if (err === undefined) continue
      t.equal(err.name, 'ConfigError', `${how}: error name`)
      t.match(err.message, /is required/, `${how}: says "is required"`)
      assertNames(t, err.message, variable)
    }
  })
}

const MALFORMED: Array<[string, string]> = [
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['PORT', '1.5'],
  ['PORT', '0x10'],
  ['PORT', '1e3'],
  ['PORT', '-1'],
  ['PUBLIC_URL', 'https://bridge.example/?tenant=1'],
  ['PUBLIC_URL', 'ftp://x'],
  ['PUBLIC_URL', 'not a url'],
  ['OPTIMOVE_BASE_URL', 'ftp://optimove.example'],
  ['GATEWAYAPI_BASE_URL', 'gatewayapi.com'],
  ['SENDER_ID', 'A'],
  ['SENDER_ID', 'ABCDEFGHIJKL'],
  ['SENDER_ID', 'Brand Name'],
  ['SENDER_ID', '1234567890123456'],
  ['SENDER_ID', '12'],
  ['LOG_LEVEL', 'loud'],
  ['CAMPAIGN_BODY_LIMIT_BYTES', '-5'],
  ['CAMPAIGN_BODY_LIMIT_BYTES', '0'],
  ['HANDSHAKE_MAX_ATTEMPTS', 'many'],
  // Shorter than the 72 h webhook age: a replayed event could outlive its memory.
  ['RETENTION_DAYS', '2'],
  ['STORE_THREAD', 'yes'],
  ['DATABASE_URL', 'mysql://db.example/bridge'],
  ['DATABASE_URL', 'postgres://[not-a-host/bridge'],
  ['DATABASE_POOL_SIZE', '0'],
  ['DATABASE_POOL_SIZE', '1001'],
  ['DATABASE_STATEMENT_TIMEOUT_MS', 'soon'],
  ['OPT_OUT_KEYWORDS', 'STOP NOW'],
  ['OPT_IN_KEYWORDS', 'START,!']
]

for (const [variable, value] of MALFORMED) {
  t.test(`malformed ${variable}=${JSON.stringify(value)} is a ConfigError naming it`, async (t) => {
    const err = configErrorOf(t, testEnv({ [variable]: value }))
    if (err === undefined) return
    assertNames(t, err.message, variable)
    t.notMatch(err.message, /is required/, 'a set but wrong value is not reported as missing')
  })
}

t.test('a refused SENDER_ID is told GatewayAPI\'s rule', async (t) => {
  const err = configErrorOf(t, testEnv({ SENDER_ID: 'Brand Name' }))
  t.match(err?.message, /SENDER_ID must be 3-11 letters\/digits or 3-15 digits/)
})

t.test('a whitespace-only value counts as unset, never as 0', async (t) => {
  t.equal(parseConfig(testEnv({ PORT: ' ' })).port, 3000)
  t.equal(parseConfig(testEnv({ CAMPAIGN_BODY_LIMIT_BYTES: '  ' })).campaignBodyLimitBytes, 32 * 1024 * 1024)
})

t.test('every trailing slash of PUBLIC_URL is stripped', async (t) => {
  t.equal(parseConfig(testEnv({ PUBLIC_URL: 'https://bridge.example//' })).campaignSendUrl, 'https://bridge.example/api/v1/campaigns/send')
})

t.test('boundary values that are valid are accepted', async (t) => {
  t.equal(parseConfig(testEnv({ PORT: '0' })).port, 0, 'PORT=0 (any free port)')
  t.equal(parseConfig(testEnv({ PORT: '65535' })).port, 65535, 'PORT=65535')
  // GatewayAPI's sender rule: 3-11 letters/digits, or 3-15 digits.
  for (const sender of ['Abc', 'ABCDEFGHIJK', 'Brand2024', '123', '123456789012345']) {
    t.equal(parseConfig(testEnv({ SENDER_ID: sender })).registrations[0]?.senderId, sender, `SENDER_ID=${sender}`)
  }
})

t.test('an error does not echo the offending value', async (t) => {
  const leaky = 'ftp://user:hunter2@optimove.example'
  const err = configErrorOf(t, testEnv({ OPTIMOVE_BASE_URL: leaky }))
  if (err === undefined) return
  t.notMatch(err.message, 'hunter2', 'a password in a URL stays out of the message')
})

t.test('a PostgreSQL DATABASE_URL, with its pool size and statement timeout (defaults 10 and 30 s)', async (t) => {
  const defaults = parseConfig(testEnv({ DATABASE_URL: 'postgresql://bridge@db.internal:5432/bridge?sslmode=verify-full' }))
  t.equal(defaults.databaseUrl, 'postgresql://bridge@db.internal:5432/bridge?sslmode=verify-full')
  t.same([defaults.databasePoolSize, defaults.databaseStatementTimeoutMs], [10, 30_000])
  const set = parseConfig(testEnv({ DATABASE_URL: 'postgres://db.internal/bridge', DATABASE_POOL_SIZE: '25', DATABASE_STATEMENT_TIMEOUT_MS: '5000' }))
  t.same([set.databasePoolSize, set.databaseStatementTimeoutMs], [25, 5000])
})

t.test('a DATABASE_URL password is a secret, and a refused URL does not echo it', async (t) => {
  const config = parseConfig(testEnv({ DATABASE_URL: 'postgres://bridge:s3cr%40t-pw@db.internal/bridge' }))
  const secrets = configSecrets(config)
  t.ok(secrets.includes('s3cr%40t-pw'), 'as written in the URL')
  t.ok(secrets.includes('s3cr@t-pw'), 'and as meant')
  t.same(configSecrets(parseConfig(testEnv({ DATABASE_URL: 'postgres://bridge@db.internal/bridge' }))).length, secrets.length - 2, 'no password, no secret')
  const err = configErrorOf(t, testEnv({ DATABASE_URL: 'postgres://bridge:hunter2@[bad/bridge' }))
  if (err !== undefined) t.notMatch(err.message, 'hunter2')
})

t.test('configSecrets lists every secret and nothing else', async (t) => {
  const env = testEnv()
  const config = parseConfig(env)
  const secrets = configSecrets(config)
  const expected = SECRET_VARIABLES.map((name) => env[name]!)
  t.same([...secrets].sort(), [...expected].sort())
  for (const name of SECRET_VARIABLES) t.ok(secrets.includes(env[name]!), `includes ${name}`)
  t.notOk(secrets.includes(config.registrations[0]!.senderId), 'the sender id is not a secret')
  t.notOk(secrets.includes(config.publicUrl), 'the public URL is not a secret')
})

t.test('the service reports every configuration error at once, one stderr line each, and exits 78', async (t) => {
  const service = spawnService(testEnv({ PUBLIC_URL: undefined, PORT: 'eighty', LOG_LEVEL: 'loud' }))
  // 'close' comes after the exit and after stderr is fully read.
  const closed = once(service.child, 'close')
  t.teardown(() => { if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill() })
  const { code, signal } = await service.exited
  await closed
  t.equal(signal, null, 'exited by itself, not by a signal')
  t.equal(code, 78, 'EX_CONFIG: a configuration error, not a crash')
  const stderr = service.stderr()
  t.ok(stderr.endsWith('\n'), 'stderr ends with a newline')
  const lines = stderr.split('\n').filter((line) => line !== '')
  t.equal(lines.length, 3, `one line per error: ${JSON.stringify(stderr)}`)
  t.match(lines.find((l) => l.includes('PUBLIC_URL')) ?? '', /^Invalid configuration: PUBLIC_URL is required$/)
  t.match(lines.find((l) => l.includes('PORT')) ?? '', /^Invalid configuration: PORT /)
  t.match(lines.find((l) => l.includes('LOG_LEVEL')) ?? '', /^Invalid configuration: LOG_LEVEL /)
  t.equal(service.logs.length, 0, 'nothing is logged to stdout: the service never started')
})

t.test('OPT_OUT_KEYWORDS and OPT_IN_KEYWORDS add to the standard keywords', async (t) => {
  const { optOut } = parseConfig(testEnv({ OPT_OUT_KEYWORDS: 'Stopp, afmeld', OPT_IN_KEYWORDS: 'tilmeld' }))
  t.same([...optOut.stop].sort(), ['AFMELD', 'CANCEL', 'END', 'QUIT', 'STOP', 'STOPALL', 'STOPP', 'UNSUBSCRIBE'])
  t.same([...optOut.start].sort(), ['START', 'TILMELD'])
  t.same([...parseConfig(testEnv()).optOut.start], ['START'], 'the standard ones by default')
})

t.test('SEND_LATENCY_TARGET_MS: five seconds by default, half SEND_TIMEOUT_MS when that is less, and never as long as the timeout', async (t) => {
  const latency = (env: Record<string, string | undefined>) => parseConfig(testEnv({ SEND_TIMEOUT_MS: undefined, SEND_LEASE_SECONDS: undefined, SEND_LATENCY_TARGET_MS: undefined, ...env })).send.latencyTargetMs
  t.equal(latency({}), 5000)
  t.equal(latency({ SEND_TIMEOUT_MS: '3001' }), 1500, 'half a short timeout, rounded down')
  t.equal(latency({ SEND_TIMEOUT_MS: '12000' }), 5000, 'a long timeout leaves the default')
  t.equal(latency({ SEND_LATENCY_TARGET_MS: '2500' }), 2500)
  t.equal(latency({ SEND_TIMEOUT_MS: '3000', SEND_LATENCY_TARGET_MS: '2999' }), 2999)
  t.throws(() => latency({ SEND_TIMEOUT_MS: '3000', SEND_LATENCY_TARGET_MS: '3000' }), new ConfigError('Invalid configuration: SEND_LATENCY_TARGET_MS must be shorter than SEND_TIMEOUT_MS (a request that times out is an overload anyway)'))
})
