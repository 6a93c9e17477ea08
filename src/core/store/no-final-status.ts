/**
 * Why the final-status sweep ended a message: its last error and its report's error details,
 * the same words from every adapter.
 */
export const NO_FINAL_STATUS_REASON = 'no final status from the provider before its expiration and grace'
