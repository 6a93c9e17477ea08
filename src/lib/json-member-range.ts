/** Byte offsets of a JSON value inside its document: `json.subarray(start, end)` is the value's exact text. */
export interface ByteRange {
  start: number
  end: number
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/** JSON's four whitespace bytes: space, tab, line feed, carriage return. */
function isWhitespace (byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d
}

function skipWhitespace (json: Uint8Array, at: number): number {
  while (isWhitespace(json[at])) at++
  return at
}

/**
 * Index just past the closing quote of the string whose opening quote is at `at`.
 * Uses Buffer.indexOf (memchr) to jump between quotes; a quote preceded by an odd run of
 * backslashes is escaped and skipped.
 */
function skipString (json: Buffer, at: number): number {
  let from = at + 1
  for (;;) {
    const quote = json.indexOf(QUOTE, from)
    if (quote < 0) throw new SyntaxError(`unterminated string at byte ${at}`)
    let backslashes = 0
    while (json[quote - 1 - backslashes] === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote + 1
    from = quote + 1
  }
}

/**
 * Index just past the value that starts at `at`. Objects and arrays are skipped with a depth
 * counter, not recursion, so any nesting depth takes constant stack.
 */
function skipValue (json: Buffer, at: number): number {
  const first = json[at]
  if (first === QUOTE) return skipString(json, at)
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    // A number, true, false or null: it ends at the next delimiter.
    let end = at
    while (end < json.length) {
      const byte = json[end]
      if (byte === COMMA || byte === CLOSE_BRACE || byte === CLOSE_BRACKET || isWhitespace(byte)) break
      end++
    }
    return end
  }
  let depth = 0
  let i = at
  while (i < json.length) {
    const byte = json[i]!
    if (byte === QUOTE) {
      i = skipString(json, i)
      continue
    }
    if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++
    else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--
      if (depth === 0) return i + 1
    }
    i++
  }
  throw new SyntaxError(`unterminated value at byte ${at}`)
}

/** Whether the raw key text (between its quotes) names `key`, decoding escapes such as `\u0061` only when present. */
function keyEquals (json: Buffer, start: number, end: number, key: Buffer, keyText: string): boolean {
  const raw = json.subarray(start, end)
  if (raw.indexOf(BACKSLASH) < 0) return raw.equals(key)
  return JSON.parse(json.toString('utf8', start - 1, end + 1)) === keyText
}

/**
 * Finds the bytes of a top-level member's value in a JSON document that JSON.parse has
 * already accepted, so that the value can be kept verbatim (big integers, `1e400`, duplicate
 * keys and whitespace intact). When the key occurs more than once the last one wins, as with
 * JSON.parse. Returns undefined when the document is not an object or has no such member.
 * Iterative and linear in the document's size.
 */
export function findMemberRange (json: Buffer, key: string): ByteRange | undefined {
  const keyBytes = Buffer.from(key, 'utf8')
  let i = skipWhitespace(json, 0)
  if (json[i] !== OPEN_BRACE) return undefined
  i = skipWhitespace(json, i + 1)
  let found: ByteRange | undefined
  while (json[i] === QUOTE) {
    const keyEnd = skipString(json, i)
    const matches = keyEquals(json, i + 1, keyEnd - 1, keyBytes, key)
    i = skipWhitespace(json, keyEnd)
    if (json[i] !== COLON) throw new SyntaxError(`expected ':' at byte ${i}`)
    const start = skipWhitespace(json, i + 1)
    const end = skipValue(json, start)
    if (matches) found = { start, end }
    i = skipWhitespace(json, end)
    if (json[i] !== COMMA) break
    i = skipWhitespace(json, i + 1)
  }
  if (json[i] !== CLOSE_BRACE) throw new SyntaxError(`expected '}' at byte ${i}`)
  return found
}
