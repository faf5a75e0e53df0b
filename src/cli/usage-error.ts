/** A mistake in how drover was invoked (flag, argument, path). The CLI exits 2 and prints the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
