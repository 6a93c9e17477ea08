/** Raised when the environment cannot make a valid Config; its message is one line. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}
