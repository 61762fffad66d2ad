// Typed errors shared by every layer. `code` is stable and machine-readable;
// the message says what was found and what to do.

export class NetletError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** A kernel or syscall failure: carries the errno name (EEXIST, ENODEV, ...) and the call. */
export class SysError extends NetletError {
  readonly errno: string;
  readonly syscall: string;
  constructor(errno: string, syscall: string, message?: string, details?: Record<string, unknown>) {
    super(errno, message ?? `${syscall} failed: ${errno}`, details);
    this.errno = errno;
    this.syscall = syscall;
  }
}

export const isErrno = (e: unknown, ...names: string[]): boolean =>
  e instanceof SysError && names.includes(e.errno);

/** Waits for p; the errnos given count as done ("already so": EEXIST, ENODEV, ESRCH, ...). */
export async function ignoreErrno(p: Promise<unknown>, ...errnos: string[]): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isErrno(e, ...errnos)) throw e;
  }
}
