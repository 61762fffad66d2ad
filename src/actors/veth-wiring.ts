// Connects the VethInterface machine to its io: kernel effects through rtnetlink/nft,
// DHCP through the worker pool. One promise actor per io call.
import { vethInterfaceMachine, type VethIo } from '../machines/veth-interface.js';
import { promiseActors } from './promise-actors.js';

export function provideVeth(io: VethIo) {
  return vethInterfaceMachine.provide({ actors: promiseActors(io) });
}
