import t from 'tap'
import { spawnSync } from 'node:child_process'
import { connect } from 'node:net'
import { once } from 'node:events'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { inspectStoreAt, listenTestApp, spawnInGroup, testConfig } from '../helper.js'

const python = spawnSync('python3', ['--version']).status === 0

/** Posts `bytes` of JSON with Python's urllib, which writes the whole body before it reads the answer. */
const URLLIB_POST = `
import sys, urllib.request, urllib.error
url, key, size, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
whole = b'{"pad":"' + b'x' * (size - 10) + b'"}'
body = whole
if mode == 'chunked':
    # An iterable without Content-Length: urllib sends it with Transfer-Encoding: chunked.
    body = (whole[i:i + 65536] for i in range(0, len(whole), 65536))
req = urllib.request.Request(url, data=body, method='POST', headers={'Content-Type': 'application/json', 'X-API-Key': key})
try:
    with urllib.request.urlopen(req) as res:
        print(res.status, res.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get('connection'), e.read().decode())
except Exception as e:
    print('failed', repr(e))
`

async function runPython (args: string[]): Promise<string> {
  const child = spawnInGroup('python3', ['-c', URLLIB_POST, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.on('data', (chunk) => { out += String(chunk) })
  await once(child, 'exit')
  return out.trim()
}

/** A body of `total` bytes as chunks, so that undici sends it chunked, without Content-Length. */
async function * chunked (total: number, progress = { sent: 0 }, chunkSize = 64 * 1024): AsyncGenerator<Buffer> {
  const chunk = Buffer.alloc(chunkSize, 'x')
  while (progress.sent < total) {
    const next = chunk.subarray(0, Math.min(chunkSize, total - progress.sent))
    yield next
    progress.sent += next.length
  }
}

t.test('a client that writes a 40 MB body before reading (Python urllib) reads the 413', { skip: python ? false : 'python3 is not installed' }, async (t) => {
  const { url, config, dbPath, admin } = await listenTestApp(t)
  t.equal(config.campaignBodyLimitBytes, 32 * 1024 * 1024, 'the default limit')
  const out = await runPython([`${url}${CAMPAIGN_SEND_PATH}`, config.registrations[0]!.aggregatorApiKey, String(40_000_000), 'length'])
  t.equal(out, `413 close {"message":"the body is larger than the limit of ${32 * 1024 * 1024} bytes","code":"PAYLOAD_TOO_LARGE"}`)
  t.match((await admin.inject({ method: 'GET', url: '/metrics' })).body, /bridge_campaign_refusals_total\{reason="too-large"\} 1/)
  t.equal((await inspectStoreAt(dbPath)).batches.length, 0)
})

t.test('a chunked body (no Content-Length) written whole before reading (Python urllib) reads the 413', { skip: python ? false : 'python3 is not installed' }, async (t) => {
  const config = testConfig({ CAMPAIGN_BODY_LIMIT_BYTES: String(8 * 1024 * 1024) })
  const { url } = await listenTestApp(t, { config })
  const out = await runPython([`${url}${CAMPAIGN_SEND_PATH}`, config.registrations[0]!.aggregatorApiKey, String(16_000_000), 'chunked'])
  t.equal(out, '413 close {"message":"the body is larger than the limit of 8388608 bytes","code":"PAYLOAD_TOO_LARGE"}')
})

t.test('a chunked body (no Content-Length) from undici: refused mid-stream, read to its end, then answered 413', async (t) => {
  const config = testConfig({ CAMPAIGN_BODY_LIMIT_BYTES: String(1024 * 1024) })
  const { url } = await listenTestApp(t, { config })
  const total = 1536 * 1024
  const progress = { sent: 0 }
  const res = await request(`${url}${CAMPAIGN_SEND_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': config.registrations[0]!.aggregatorApiKey },
    body: Readable.from(chunked(total, progress))
  })
  t.equal(res.statusCode, 413)
  t.equal(res.headers.connection, 'close')
  t.same(await res.body.json(), { message: 'the body is larger than the limit of 1048576 bytes', code: 'PAYLOAD_TOO_LARGE' })
  t.equal(progress.sent, total, 'the whole body was taken before the answer')
})

t.test('past twice the limit a chunked body is not read on: the connection is dropped, the app serves on', async (t) => {
  const config = testConfig({ CAMPAIGN_BODY_LIMIT_BYTES: String(256 * 1024) })
  const { url } = await listenTestApp(t, { config })
  const sending = request(`${url}${CAMPAIGN_SEND_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': config.registrations[0]!.aggregatorApiKey },
    body: Readable.from(chunked(64 * 1024 * 1024))
  })
  await t.rejects(sending, 'the 64 MiB upload is cut off, not swallowed')
  t.equal((await request(`${url}/health`)).statusCode, 200)
})

t.test('a declared Content-Length beyond twice the limit is answered at once, before any body byte', async (t) => {
  const config = testConfig({ CAMPAIGN_BODY_LIMIT_BYTES: '1000' })
  const { port } = await listenTestApp(t, { config })
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.write(`POST ${CAMPAIGN_SEND_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-Key: ${config.registrations[0]!.aggregatorApiKey}\r\nContent-Length: 1000000\r\n\r\n`)
  let answer = ''
  socket.on('data', (chunk) => { answer += String(chunk) })
  await once(socket, 'end')
  t.match(answer, /^HTTP\/1\.1 413 /)
  t.match(answer, /\r\nconnection: close\r\n/i)
  t.match(answer, /\{"message":"the body is larger than the limit of 1000 bytes","code":"PAYLOAD_TOO_LARGE"\}$/)
})
