// Errors users can read: one class per kind, one line each, naming the file or resource and the reason.

/** A file given by the user is missing, truncated, malformed or hostile. */
export class BadInputFileError extends Error {
  override name = 'BadInputFileError';
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
  }
}

/** A command-line flag or API argument is unknown or out of range. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An allocation would exceed the GPU memory budget. */
export class OverBudgetError extends Error {
  override name = 'OverBudgetError';
  constructor(message: string, readonly requestedBytes: number, readonly liveBytes: number, readonly maxBytes: number) {
    super(message);
  }
}

/** The GPU device was lost or reported an error (validation, out-of-memory, internal). */
export class DeviceError extends Error {
  override name = 'DeviceError';
}

/** A kernel was called with missing, unknown or wrongly sized bindings. */
export class KernelBindingError extends Error {
  override name = 'KernelBindingError';
}

/**
 * A tensor or a dispatch is past a limit of the adapter (the storage binding size, 65,535 workgroups
 * a grid dimension), which no memory budget changes: a smaller batch is the way out.
 */
export class AdapterLimitError extends KernelBindingError {
  override name = 'AdapterLimitError';
}
