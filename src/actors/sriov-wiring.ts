// Connects the SriovInterface machine to an SriovIo: one promise actor per io call.
import { sriovInterfaceMachine, type SriovIo } from '../machines/sriov-interface.js';
import { promiseActors } from './promise-actors.js';

export function provideSriov(io: SriovIo) {
  return sriovInterfaceMachine.provide({ actors: promiseActors(io) });
}
