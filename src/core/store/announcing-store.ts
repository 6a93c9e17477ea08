import type { WorkNotifier } from '../work-notifier.js'
import type { Store } from './store.js'

/**
 * The store, announcing on `notifier` what each of its commits made due: a new campaign's
 * messages (and the reports of its unusable recipients), reports of messages ended by a
 * failure, a final status or the final-status sweep, and customer replies. Only a commit that
 * wrote something is announced: a duplicate campaign or a replayed event is not.
 */
export function announcingStore (store: Store, notifier: WorkNotifier): Store {
  return {
    instanceId: store.instanceId,
    heartbeat: (now, deadBefore) => store.heartbeat(now, deadBefore),
    retireInstance: () => store.retireInstance(),
    leaseJob: (job, now, until) => store.leaseJob(job, now, until),
    signalWork: (kinds) => store.signalWork(kinds),
    listenForWork: (listener) => store.listenForWork(listener),
    claimDue: (now, limit, leaseMs, scope) => store.claimDue(now, limit, leaseMs, scope),
    markSubmitted: (results, now) => store.markSubmitted(results, now),
    reschedule: (items, error, now, options) => store.reschedule(items, error, now, options),
    claimReports: (now, limit, leaseMs, maxBytes, excluded) => store.claimReports(now, limit, leaseMs, maxBytes, excluded),
    claimIncoming: (now, limit, leaseMs, maxBytes, excluded) => store.claimIncoming(now, limit, leaseMs, maxBytes, excluded),
    settleOutbox: (outbox, settlement, now) => store.settleOutbox(outbox, settlement, now),
    prune: (cutoff, recipientCutoff) => store.prune(cutoff, recipientCutoff),
    registrationsOfRecipient: (msisdn) => store.registrationsOfRecipient(msisdn),
    nextDueAt: (excluded, only) => store.nextDueAt(excluded, only),
    ping: () => store.ping(),
    stats: () => store.stats(),
    inspect: (options) => store.inspect(options),
    parked: (options) => store.parked(options),
    lookupBatches: (key, limit) => store.lookupBatches(key, limit),
    lookupMessages: (key, limit) => store.lookupMessages(key, limit),
    pausedRegistrations: () => store.pausedRegistrations(),
    setSuppressed: (registrationId, msisdn, suppressed, now) => store.setSuppressed(registrationId, msisdn, suppressed, now),
    suppressions: (filter, limit) => store.suppressions(filter, limit),
    close: () => store.close(),
    async acceptCampaign (batch, messages) {
      const result = await store.acceptCampaign(batch, messages)
      if (!result.duplicate) {
        if (result.accepted > 0) notifier.emit('messagesDue', batch.registrationId)
        if (result.rejected > 0) notifier.emit('reportsQueued', batch.registrationId)
      }
      return result
    },
    async fail (items, now) {
      await store.fail(items, now)
      if (items.length > 0) notifier.emit('reportsQueued')
    },
    async recordWebhookEvent (event) {
      const result = await store.recordWebhookEvent(event)
      if (result === 'new') {
        if (event.kind === 'status' && event.outcome !== undefined) notifier.emit('reportsQueued')
        else if (event.kind === 'inbound') notifier.emit('repliesQueued')
      }
      return result
    },
    async requeueParked (filter, now) {
      const requeued = await store.requeueParked(filter, now)
      if (requeued.reports > 0) notifier.emit('reportsQueued', filter.registrationId)
      if (requeued.incoming > 0) notifier.emit('repliesQueued')
      return requeued
    },
    async cancelBatch (batchId, now) {
      const result = await store.cancelBatch(batchId, now)
      if (result !== undefined && result.cancelled > 0) notifier.emit('reportsQueued')
      return result
    },
    async setRegistrationPaused (registrationId, paused, now) {
      const before = await store.setRegistrationPaused(registrationId, paused, now)
      if (before && !paused) notifier.emit('messagesDue', registrationId)
      return before
    },
    async erasePhoneNumber (msisdn, now) {
      const erased = await store.erasePhoneNumber(msisdn, now)
      if (erased.messages > 0) notifier.emit('reportsQueued')
      return erased
    },
    async endUnconfirmed (cutoffs, otherwise, now) {
      const ended = await store.endUnconfirmed(cutoffs, otherwise, now)
      if (ended > 0) notifier.emit('reportsQueued')
      return ended
    }
  }
}
