/** A problem with how the command was called (exit status 2), as opposed to with its data (1). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
