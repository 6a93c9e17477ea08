/** A store error as it crosses the thread boundary: what the structured clone keeps of it. */
export interface ErrorShape {
  name: string
  message: string
  /** The driver's stable code (`SQLITE_BUSY`, ...), which callers act on. */
  code?: unknown
  cause?: ErrorShape
}

/** How deep a chain of causes is carried (a cause of a cause ...); deeper ones are dropped. */
const MAX_CAUSES = 5

/** An error (and its causes) as plain data. */
export function errorShape (err: unknown, depth = 0): ErrorShape {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) }
  const { code, cause } = err as Error & { code?: unknown }
  return {
    name: err.name,
    message: err.message,
    ...(code === undefined ? {} : { code }),
    ...(cause === undefined || depth >= MAX_CAUSES ? {} : { cause: errorShape(cause, depth + 1) })
  }
}

/** The error again, with its name, code and causes, on this side of the boundary. */
export function errorFromShape (shape: ErrorShape): Error {
  const err = new Error(shape.message, shape.cause === undefined ? undefined : { cause: errorFromShape(shape.cause) })
  err.name = shape.name
  if (shape.code !== undefined) Object.assign(err, { code: shape.code })
  return err
}
