import Database from 'better-sqlite3'
import { rmSync, mkdirSync } from 'node:fs'
for (const variant of ['full', 'noref', 'nodue', 'bare']) {
  rmSync('/tmp/sdb2', { recursive: true, force: true }); mkdirSync('/tmp/sdb2')
  const db = new Database('/tmp/sdb2/x.db'); db.pragma('journal_mode=WAL'); db.pragma('synchronous=FULL')
  db.exec(`CREATE TABLE m (id INTEGER PRIMARY KEY, batch_id INTEGER, reference TEXT ${variant === 'full' || variant === 'nodue' ? 'UNIQUE' : ''}, mobile TEXT, cust TEXT, body TEXT, state TEXT, attempts INTEGER DEFAULT 0, next BIGINT, lease BIGINT, pid TEXT, fo TEXT, le TEXT, ca BIGINT, ua BIGINT)`)
  if (variant === 'full' || variant === 'noref') db.exec('CREATE INDEX due ON m(state, next)')
  const ins = db.prepare('INSERT INTO m (batch_id, reference, mobile, cust, body, state, next, fo, le, ca, ua) VALUES (?,?,?,?,?,?,?,?,?,?,?)')
  const times: number[] = []
  for (let k = 0; k < 10; k++) {
    const t0 = performance.now()
    db.transaction(() => { for (let i = 0; i < 10000; i++) ins.run(k, 'abcdefghijkl-' + k + '-' + i, '4512345' + i, 'c' + i, 'Hello customer number ' + i + ', here is your personal offer!', 'queued', 0, null, null, 1, 1) }).immediate()
    times.push(Math.round(performance.now() - t0))
  }
  console.log(variant, times.join(' '))
}
