/** Loads `./.env` into the environment when there is one (variables already set win); none is no error. */
export function loadEnvFileIfPresent (): void {
  try {
    process.loadEnvFile()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}
