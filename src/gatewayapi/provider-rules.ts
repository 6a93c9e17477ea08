import type { ProviderRules } from '../core/provider-rules.js'
import { checkRecipient } from './recipient-rule.js'
import { checkSender } from './sender-rule.js'

/** GatewayAPI's rules for senders, recipients and texts, as intake asks them. */
export const gatewayApiRules: ProviderRules = { checkSender, checkRecipient }
