import type { Pool } from 'undici'
import type { MessageSender } from '../core/message-sender.js'
import type { GatewayApiAccount } from '../registration.js'
import { createGatewayApiClient, createGatewayApiPool, type GatewayApiClientOptions } from './send-client.js'

/** One GatewayAPI account (a host and a token) and the registrations whose messages go through it. */
export interface AccountGroup {
  /** `default` for the environment's account; otherwise its first registration's id. */
  name: string
  account: GatewayApiAccount
  registrations: string[]
}

/** The name of the environment's account (GATEWAYAPI_TOKEN on GATEWAYAPI_BASE_URL). */
export const DEFAULT_ACCOUNT = 'default'

/**
 * The GatewayAPI accounts the registrations use, the environment's first (always there: it also
 * sends the messages of registrations no longer configured). A registration's account is what it
 * names itself, each part it leaves out the environment's; registrations on one host with one
 * token share an account.
 */
export function gatewayApiAccounts (registrations: ReadonlyArray<{ id: string; gatewayapi?: Partial<GatewayApiAccount> }>, environment: GatewayApiAccount): AccountGroup[] {
  const key = (a: GatewayApiAccount): string => `${a.baseUrl}\u0000${a.token}`
  const groups = new Map<string, AccountGroup>([[key(environment), { name: DEFAULT_ACCOUNT, account: environment, registrations: [] }]])
  for (const r of registrations) {
    const account = { ...environment, ...r.gatewayapi }
    const group = groups.get(key(account)) ?? { name: r.id, account, registrations: [] }
    group.registrations.push(r.id)
    groups.set(key(account), group)
  }
  return [...groups.values()]
}

/** Every webhook secret the accounts use, each once: a GatewayAPI webhook is taken when it is signed with any of them. */
export function webhookSecrets (accounts: readonly AccountGroup[]): string[] {
  return [...new Set(accounts.map((a) => a.account.webhookSecret))]
}

/**
 * A sender per account, with its own token; the accounts on one host share that host's pool of
 * connections (`connections` at most, GatewayAPI counting connections per client).
 */
export function createAccountSenders (accounts: readonly AccountGroup[], options: Omit<GatewayApiClientOptions, 'baseUrl' | 'token' | 'pool'>): { senders: Map<string, MessageSender>; close: () => Promise<void> } {
  const pools = new Map<string, Pool>()
  const senders = new Map<string, MessageSender>()
  for (const { name, account } of accounts) {
    const pool = pools.get(account.baseUrl) ?? createGatewayApiPool({ ...options, baseUrl: account.baseUrl })
    pools.set(account.baseUrl, pool)
    senders.set(name, createGatewayApiClient({ ...options, baseUrl: account.baseUrl, token: account.token, pool }))
  }
  return { senders, close: async () => { await Promise.all([...pools.values()].map((pool) => pool.close())) } }
}
