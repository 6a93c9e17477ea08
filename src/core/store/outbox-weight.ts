/**
 * What a claimed outbox row costs besides its large text (metadata, reply text): ids, numbers,
 * the body's frame. Every adapter weighs its claims with it, so that one `maxBytes` means the same
 * claim on each.
 */
export const OUTBOX_ROW_OVERHEAD_BYTES = 512
