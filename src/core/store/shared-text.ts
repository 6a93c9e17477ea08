/**
 * Rows that share one large string (a batch's metadata in each of its reports) lose that
 * sharing when they are copied to another thread: the structured clone copies the string once
 * per row. `packShared` lifts the field into a table of distinct strings; `unpackShared` puts
 * the same string object back into every row on the other side.
 */
export interface PackedRows<T> {
  rows: Array<Omit<T, 'metadataJson'> & { metadataIndex: number }>
  texts: string[]
}

export function packShared<T extends { metadataJson: string }> (rows: T[]): PackedRows<T> {
  const index = new Map<string, number>()
  const texts: string[] = []
  return {
    rows: rows.map(({ metadataJson, ...rest }) => {
      let i = index.get(metadataJson)
      if (i === undefined) {
        i = texts.push(metadataJson) - 1
        index.set(metadataJson, i)
      }
      return { ...rest, metadataIndex: i }
    }),
    texts
  }
}

export function unpackShared<T extends { metadataJson: string }> (packed: PackedRows<T>): T[] {
  return packed.rows.map(({ metadataIndex, ...rest }) => ({ ...rest, metadataJson: packed.texts[metadataIndex]! }) as unknown as T)
}
