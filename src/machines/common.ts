// What every machine definition shares: placeholder actors (the wiring in src/actors
// supplies the real ones) and the one shape a failed step is recorded in.
import { fromPromise } from 'xstate';

/** `{ code, message, step }`: code is the errno name or NetletError code, else EIO. */
export interface StepError {
  code: string;
  message: string;
  step: string;
}

export function stepError(step: string, e: unknown): StepError {
  const err = e as { code?: unknown; message?: unknown };
  return {
    code: typeof err?.code === 'string' ? err.code : 'EIO',
    message: typeof err?.message === 'string' ? err.message : String(e),
    step,
  };
}

/** A promise actor that fails until the wiring provides the real one. */
export const notProvided = <O, I>(machine: string, name: string, hint: string) =>
  fromPromise<O, I>(async () => {
    throw new Error(`${machine} actor '${name}' not provided (${hint})`);
  });

/**
 * A machine's state value as one name for status and events: `a.b.c`; a parallel state's
 * regions joined by `+` (`tearingDown.unwiring.service.unisolating+links.unplumbing`).
 */
export function stateName(v: unknown): string {
  if (v == null) return 'pending';
  if (typeof v === 'string') return v;
  return Object.entries(v as Record<string, unknown>).map(([k, sub]) => `${k}.${stateName(sub)}`).join('+');
}
