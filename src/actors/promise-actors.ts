// The wiring's one mechanism: each io method becomes the machine actor of the same name.
import { fromPromise, type ActorSystem, type PromiseActorLogic } from 'xstate';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- xstate's own AnyActorSystem is ActorSystem<any>, not exported
type System = ActorSystem<any>;

/** An io contract: every member an async function of one input. */
type IoMethods<T> = { [K in keyof T]: (input: never) => Promise<unknown> };

export type PromiseActors<T extends IoMethods<T>> = {
  [K in keyof T]: PromiseActorLogic<Awaited<ReturnType<T[K]>>, Parameters<T[K]>[0]>;
};

export function promiseActors<T extends IoMethods<T>>(io: T): PromiseActors<T> {
  // The method is looked up when the actor runs, not here: providing touches no io.
  const methods = io as Record<string, (input: never) => Promise<unknown>>;
  return Object.fromEntries(
    Object.keys(io).map((name) => [name, fromPromise(({ input }: { input: never }) => methods[name]!(input))]),
  ) as PromiseActors<T>;
}

/**
 * The same, with the io found when an actor runs, through the actor system it runs in:
 * logic provided once serves every pod (see pod-logic.ts).
 */
export function promiseActorsVia<T extends IoMethods<T>>(names: readonly (keyof T & string)[], ioOf: (system: System) => T): PromiseActors<T> {
  return Object.fromEntries(
    names.map((name) => [name, fromPromise(({ input, system }: { input: never; system: System }) =>
      (ioOf(system) as Record<string, (input: never) => Promise<unknown>>)[name]!(input))]),
  ) as PromiseActors<T>;
}
