import t from 'tap'
import { findMemberRange } from '../../src/lib/json-member-range.js'

/** The exact text the scanner finds for `key`, after checking that JSON.parse accepts the document. */
function valueText (doc: string, key = 'metadata'): string | undefined {
  JSON.parse(doc)
  const json = Buffer.from(doc, 'utf8')
  const range = findMemberRange(json, key)
  return range === undefined ? undefined : json.toString('utf8', range.start, range.end)
}

t.test('finds a member of every JSON type, byte for byte', async (t) => {
  t.equal(valueText('{"metadata":{"a":1}}'), '{"a":1}')
  t.equal(valueText('{"metadata":[1,2,[3]]}'), '[1,2,[3]]')
  t.equal(valueText('{"metadata":"text"}'), '"text"')
  t.equal(valueText('{"metadata":12345678901234567890}'), '12345678901234567890')
  t.equal(valueText('{"metadata":1e400}'), '1e400')
  t.equal(valueText('{"metadata":-0.5E-3,"x":1}'), '-0.5E-3')
  t.equal(valueText('{"metadata":true}'), 'true')
  t.equal(valueText('{"metadata":null}'), 'null')
})

t.test('whitespace around keys, colons and values is skipped, inside the value it is kept', async (t) => {
  t.equal(valueText(' \t\r\n{ \n "batchId" : "b" ,\r\n\t"metadata"  :\n\t{ "a" :\t[ 1 ,2 ] }  \n, "z": 0 }\n'), '{ "a" :\t[ 1 ,2 ] }')
  t.equal(valueText('{"metadata" : 7 }'), '7')
})

t.test('strings with escaped quotes, backslashes and brackets do not end or nest the value', async (t) => {
  const metadata = String.raw`{"q":"say \"}\" and ]","b":"C:\\","bb":"\\\\","mixed":"\\\"{[","after":1}`
  t.equal(valueText(`{"before":"\\"metadata\\":1 }","metadata":${metadata},"after":"]}"}`), metadata)
  t.equal(valueText(String.raw`{"metadata":"ends with a backslash \\"}`), String.raw`"ends with a backslash \\"`)
  t.equal(valueText(String.raw`{"k\"ey":1,"metadata":"x"}`), '"x"')
})

t.test('only a top-level member counts; nested members of the same name are skipped', async (t) => {
  t.equal(valueText('{"a":{"metadata":1},"b":[{"metadata":2}],"metadata":3}'), '3')
  t.equal(valueText('{"a":{"metadata":1},"b":[{"metadata":2}]}'), undefined)
})

t.test('duplicate keys: the last one wins, as with JSON.parse', async (t) => {
  t.equal(valueText('{"metadata":{"first":1},"x":0,"metadata":{"second":2}}'), '{"second":2}')
  t.equal(valueText('{"metadata":{"a":1,"a":2}}'), '{"a":1,"a":2}', 'duplicates inside the value are kept as they are')
})

t.test('keys spelled with escapes are decoded before they are compared', async (t) => {
  t.equal(valueText(String.raw`{"metad\u0061ta":{"x":1}}`), '{"x":1}')
  t.equal(valueText(String.raw`{"metadata":1,"\u006detadata":2}`), '2')
  t.equal(valueText(String.raw`{"metadata\u0000":1}`), undefined)
})

t.test('a missing key, an empty object or a document that is not an object gives undefined', async (t) => {
  t.equal(valueText('{"batchId":"b"}'), undefined)
  t.equal(valueText('{}'), undefined)
  t.equal(valueText(' { } '), undefined)
  t.equal(valueText('[{"metadata":1}]'), undefined)
  t.equal(valueText('"metadata"'), undefined)
  t.equal(valueText('null'), undefined)
  t.equal(valueText('{"metadatax":1,"xmetadata":2,"Metadata":3}'), undefined)
})

t.test('unicode: byte offsets stay right around multi-byte characters, in keys and values', async (t) => {
  const metadata = '{"emoji":"😀 ﬁ é","ключ":"значение","esc":"\\ud83d\\ude00"}'
  t.equal(valueText(`{"prefix":"ünïcödé 😀","metadata":${metadata},"suffix":"日本"}`), metadata)
  t.equal(valueText('{"ключ":[1],"metadata":"ø"}', 'ключ'), '[1]')
})

t.test('10,000 levels of nesting take no stack', async (t) => {
  const deep = '['.repeat(10_000) + '{"a":"]"}' + ']'.repeat(10_000)
  t.equal(valueText(`{"metadata":${deep},"x":1}`), deep)
  const deeper = '{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000)
  const doc = Buffer.from(`{"metadata":${deeper}}`)
  const range = findMemberRange(doc, 'metadata')!
  t.equal(range.end - range.start, deeper.length)
})

t.test('a 2 MB campaign body is scanned in a few milliseconds', async (t) => {
  const recipients = Array.from({ length: 14_000 }, (_, i) => ({
    message: `Hi "customer" ${i} \\ [20% off] {until} Sunday. Reply STOP to opt out.`,
    mobileNumber: `+45 ${20000000 + i}`,
    customerId: `customer-${i}`
  }))
  const metadata = '{"campaignId":"c-1","scheduledTime":1700000000000}'
  const doc = Buffer.from(`{"batchId":"b","recipients":${JSON.stringify(recipients)},"metadata":${metadata},"requestId":"r"}`)
  t.ok(doc.length > 2_000_000, `body is ${doc.length} bytes`)
  findMemberRange(doc, 'metadata')
  let best = Infinity
  for (let run = 0; run < 5; run++) {
    const started = process.hrtime.bigint()
    const range = findMemberRange(doc, 'metadata')!
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6)
    t.equal(doc.toString('utf8', range.start, range.end), metadata)
  }
  t.ok(best < 25, `best of 5 scans took ${best.toFixed(2)} ms`)
})
