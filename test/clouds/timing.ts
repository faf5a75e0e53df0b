/**
 * Provider retry timings for tests, defined once for every cloud: production's shape (see each
 * cloud's DEFAULT_RETRY), milliseconds where production has seconds, because the simulators run a
 * fast clock.
 */

/**
 * For a provider under unit test (test/providers): a short cap, so that a test that throttles or
 * fails calls on purpose ends quickly; eight attempts, as production.
 */
export const FAST_RETRY = { maxAttempts: 8, baseDelayMs: 5, throttleBaseDelayMs: 10, maxDelayMs: 80, attemptTimeoutMs: 2000 };

/**
 * For a provider inside drover's passes against a throttling simulator (harness, fault matrices):
 * a longer throttle backoff and attempt deadline, so that a busy machine does not turn the
 * simulator's throttling into failed passes.
 */
export const PASS_RETRY = { baseDelayMs: 5, throttleBaseDelayMs: 20, maxDelayMs: 200, attemptTimeoutMs: 5000 };

/** The simulator's latencies in the fleet world (boot 20 s, terminate 10 s of simulated time). */
export const FLEET_LATENCIES = { bootMs: 20_000, terminateMs: 10_000 };
