import { EventEmitter } from 'node:events'

/**
 * What became due, announced once the store has committed it. Loops subscribe to what they
 * work on; nobody wakes a loop directly. Each announcement names the registration where one
 * commit concerns one registration (a campaign), and none where it may concern several.
 */
export interface WorkEvents {
  /** Messages were stored ready to send. */
  messagesDue: [registrationId?: string]
  /** Delivery reports were queued for Optimove. */
  reportsQueued: [registrationId?: string]
  /** Customer replies were queued for Optimove. */
  repliesQueued: []
}

export class WorkNotifier extends EventEmitter<WorkEvents> {}
