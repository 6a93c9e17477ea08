// `npm test`: tap under c8 (coverage threshold in .c8rc.json). Without DATABASE_URL_TEST, outside
// CI, the PostgreSQL tests skip with a visible reason, and the PostgreSQL adapter's files
// (src/core/store/pg-*.ts) are left out of the coverage figures: unrun, they would count as
// uncovered. In CI the variable must be set (.ci/run starts a throwaway server), and every file counts.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

const config = JSON.parse(readFileSync(new URL('../.c8rc.json', import.meta.url), 'utf8'))
const withoutPostgres = (process.env.DATABASE_URL_TEST ?? '') === '' && process.env.CI !== 'true'
const exclude = withoutPostgres ? [...config.exclude, 'src/core/store/pg-*.ts'].flatMap((glob) => ['--exclude', glob]) : []
if (withoutPostgres) console.log('# DATABASE_URL_TEST is not set: PostgreSQL tests skipped, src/core/store/pg-*.ts left out of coverage')
const child = spawn('c8', [...exclude, 'tap', ...process.argv.slice(2)], { stdio: 'inherit', shell: false, env: { ...process.env, PATH: `${new URL('../node_modules/.bin', import.meta.url).pathname}:${process.env.PATH}` } })
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)))
