// Connects the VethInterface machine to its io: kernel effects through rtnetlink/nft,
// DHCP through the worker pool. One promise actor per io call.
import { fromPromise } from 'xstate';
import { vethInterfaceMachine, type VethIo } from '../machines/veth-interface.js';

export function provideVeth(io: VethIo) {
  return vethInterfaceMachine.provide({
    actors: {
      capture: fromPromise(({ input }) => io.capture(input)),
      strip: fromPromise(({ input }) => io.strip(input)),
      plumb: fromPromise(({ input }) => io.plumb(input)),
      isolate: fromPromise(({ input }) => io.isolate(input)),
      startDhcp: fromPromise(({ input }) => io.startDhcp(input)),
      stopDhcp: fromPromise(({ input }) => io.stopDhcp(input)),
      unisolate: fromPromise(({ input }) => io.unisolate(input)),
      unplumb: fromPromise(({ input }) => io.unplumb(input)),
      restore: fromPromise(({ input }) => io.restore(input)),
    },
  });
}
