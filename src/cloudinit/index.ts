// Renders a pod's network plan as cloud-init input: Network Config v1 and v2 (objects
// and YAML), OpenStack network_data.json, and an instance id that follows the network.
// Pure: no I/O. See docs/cloud-init.md.
import type { PodNetworkPlan } from '../model/index.js';
import { instanceIdFromRendered } from './instance-id.js';
import { layoutPlan } from './layout.js';
import { networkDataFromLayout } from './network-data.js';
import type { NetworkConfigV1, NetworkConfigV2, NetworkData } from './types.js';
import { networkConfigV1FromLayout } from './v1.js';
import { networkConfigV2FromLayout } from './v2.js';
import { cloudInitYaml } from './yaml-text.js';

export interface CloudInitNetwork {
  networkConfigV1: NetworkConfigV1;
  networkConfigV1Yaml: string;
  networkConfigV2: NetworkConfigV2;
  networkConfigV2Yaml: string;
  networkData: NetworkData;
  /** For meta-data `instance-id`: changes whenever the rendered network changes. */
  instanceId: string;
}

export function renderCloudInit(plan: PodNetworkPlan): CloudInitNetwork {
  const layout = layoutPlan(plan);
  const networkConfigV1 = networkConfigV1FromLayout(layout);
  const networkConfigV2 = networkConfigV2FromLayout(layout);
  const networkData = networkDataFromLayout(layout);
  return {
    networkConfigV1,
    networkConfigV1Yaml: cloudInitYaml(networkConfigV1),
    networkConfigV2,
    networkConfigV2Yaml: cloudInitYaml(networkConfigV2),
    networkData,
    instanceId: instanceIdFromRendered(plan.podId, { networkConfigV1, networkConfigV2, networkData }),
  };
}

/** The instance id alone, for a runtime that only writes meta-data. */
export const instanceIdFor = (plan: PodNetworkPlan): string => renderCloudInit(plan).instanceId;

export { networkConfigV1 } from './v1.js';
export { networkConfigV2 } from './v2.js';
export { networkData } from './network-data.js';
export { cloudInitYaml } from './yaml-text.js';
export { canonicalJson, instanceIdFromRendered, safePodId } from './instance-id.js';
export type * from './types.js';
