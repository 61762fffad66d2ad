// Connects the SriovInterface machine to an SriovIo: one promise actor per io call.
import { fromPromise } from 'xstate';
import { sriovInterfaceMachine, type SriovIo } from '../machines/sriov-interface.js';

export function provideSriov(io: SriovIo) {
  return sriovInterfaceMachine.provide({
    actors: {
      detect: fromPromise(({ input }) => io.detect(input)),
      readPf: fromPromise(({ input }) => io.readPf(input)),
      setPf: fromPromise(({ input }) => io.setPf(input)),
      unbindDriver: fromPromise(({ input }) => io.unbindDriver(input)),
      bindVfio: fromPromise(({ input }) => io.bindVfio(input)),
      waitVfioDevice: fromPromise(({ input }) => io.waitVfioDevice(input)),
      unbindVfio: fromPromise(({ input }) => io.unbindVfio(input)),
      clearOverride: fromPromise(({ input }) => io.clearOverride(input)),
      reprobe: fromPromise(({ input }) => io.reprobe(input)),
      waitNetdev: fromPromise(({ input }) => io.waitNetdev(input)),
      restoreNetns: fromPromise(({ input }) => io.restoreNetns(input)),
    },
  });
}
