/** The replies that take a number off a registration's sends: the industry's usual keywords. */
export const STANDARD_OPT_OUT_KEYWORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'] as const
/** The replies that put it back. */
export const STANDARD_OPT_IN_KEYWORDS = ['START'] as const

/** What a customer's reply asks of its registration's sends to the number. */
export type OptOutIntent = 'stop' | 'start'

export interface OptOutKeywords {
  stop: ReadonlySet<string>
  start: ReadonlySet<string>
}

/** The standard keywords and the configured ones (OPT_OUT_KEYWORDS, OPT_IN_KEYWORDS), as a reply is compared with them. */
export function optOutKeywords (extraStop: readonly string[] = [], extraStart: readonly string[] = []): OptOutKeywords {
  return {
    stop: new Set([...STANDARD_OPT_OUT_KEYWORDS, ...extraStop].map(keywordForm)),
    start: new Set([...STANDARD_OPT_IN_KEYWORDS, ...extraStart].map(keywordForm))
  }
}

/**
 * Whether a reply is an opt-out or an opt-in: the whole reply is one keyword, in any case, with
 * spaces and closing punctuation around it (`Stop`, ` STOP! `, `stop.`). A sentence that
 * contains a keyword (`don't stop`, `stop sending the ads at night`) is not: it goes to
 * Optimove as every reply does, and Optimove, the system of record, decides.
 */
export function optOutIntent (text: string, keywords: OptOutKeywords): OptOutIntent | undefined {
  const word = keywordForm(text)
  if (keywords.stop.has(word)) return 'stop'
  if (keywords.start.has(word)) return 'start'
  return undefined
}

/** A reply or a keyword as they are compared: trimmed, closing punctuation dropped, upper case. */
function keywordForm (text: string): string {
  return text.trim().replace(/[\s.!?¡¿,;:]+$/u, '').replace(/^[¡¿\s]+/u, '').toLocaleUpperCase('en-US')
}
