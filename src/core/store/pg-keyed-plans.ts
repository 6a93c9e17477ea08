import { pgText } from './pg-pool.js'

/**
 * Plans for the statements that name their messages by id (a settlement's 1,000, an expired
 * claim's, a batch being cancelled), whatever the planner's statistics say.
 *
 * The statistics of a queue are always out of date: a campaign of 100,000 messages is stored
 * and sent within the minute autovacuum takes to notice it. Measured on 100,000 queued messages
 * with the statistics of an empty queue, a settlement of 1,000 written as a join
 * (`FROM unnest(…) w WHERE m.id = w.id AND m.state = 'queued'`) read the partial index of queued
 * messages, which the planner believed nearly empty: it hashed all 100,000 (67–133 ms instead
 * of 17), and with hash joins forbidden it compared every queued message with every id (12.5 s).
 * Whichever join methods are allowed, a join of 1,000 given ids with a table whose rows the
 * planner underestimates can be turned around. So a settlement joins nothing: it reads its rows
 * by `id = ANY(ids)` (one probe of the primary key each), takes each row's values from a JSON
 * object keyed by id (`valuesById`, `keyedValue`), and writes its state condition so that no
 * partial index on the state can serve it (`keyedState`): the only other plan is a sequential
 * scan, which the planner costs by the table's real size. An expired claim's messages are
 * ended the same way (their ids and attempts from the claim's row, in the statement). The
 * statements that still join by key (the sweep's chunk, the claimed count) write their state
 * condition the same way: the worst a wrong estimate can do to them is one read of the table.
 */

/**
 * `<alias>.state = '<state>'` for a row found by its key, written as an expression (`state || ''`)
 * that the planner cannot match to a partial index's `state = …` predicate.
 */
export function keyedState (alias: string, state: 'queued' | 'submitted'): string {
  return `(${alias}.state || '') = '${state}'`
}

/** The values of each item (numbers, strings, nulls), by its id, as the JSON object a keyed statement reads them from. */
export function valuesById<T extends { dbId: number }> (items: readonly T[], values: (item: T, index: number) => ReadonlyArray<string | number | null>): string {
  const byId: Record<string, Array<string | number | null>> = {}
  // jsonb cannot hold U+0000 either.
  items.forEach((item, i) => { byId[item.dbId] = values(item, i).map((v) => typeof v === 'string' ? pgText(v) : v) })
  return JSON.stringify(byId)
}

/** SQL: the `index`th value given for the row `alias` in the JSON object `param` (valuesById), as text; NULL for a JSON null. */
export function keyedValue (param: string, alias: string, index: number): string {
  return `((${param}::jsonb -> ${alias}.id::text) ->> ${index})`
}
