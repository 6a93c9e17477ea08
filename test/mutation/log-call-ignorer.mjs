// A Stryker ignorer: mutants inside a logger call (`logger.info(…)`, `this.o.logger.error(…)`)
// are not run. A log line's words and fields are for people, not a promise a test can hold;
// the decisions around a log call (whether it happens, at which level) are still mutated.
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin'

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])

/** Whether a callee reads `<…>logger.<level>` or `log.<level>`. */
function isLogCall (callee) {
  if (callee?.type !== 'MemberExpression' || callee.property.type !== 'Identifier' || !LEVELS.has(callee.property.name)) return false
  const object = callee.object
  const name = object.type === 'Identifier' ? object.name : object.type === 'MemberExpression' && object.property.type === 'Identifier' ? object.property.name : undefined
  return name === 'logger' || name === 'log'
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'log-calls', {
    shouldIgnore (path) {
      if (path.isCallExpression() && isLogCall(path.node.callee)) return 'a log line\'s words and fields are for people, not a promise'
      return undefined
    }
  })
]
