/** A problem with how the command was called (exit status 2), as opposed to with its data (1). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Something the command needs from outside Node (Python and its packages) is missing (exit status
 * 1); the message names it and how to install it.
 */
export class PrerequisiteError extends Error {
  override readonly name = "PrerequisiteError";
}
