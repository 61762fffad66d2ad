// How an on-link route (no next hop) is spelt in cloud-init v1, v2 and network_data.json.
//
// cloud-init 22.4's v1 route has no "scope"/"on-link" key, and a route without `gateway`
// crashes its eni renderer (KeyError) and becomes `via: null` in netplan. The unspecified
// address as gateway passes every renderer: networkd writes `Gateway=0.0.0.0`, which
// systemd-networkd 252 installs as `scope link` (measured, see docs/cloud-init.md).
import type { IpFamily } from '../model/index.js';

export const onLinkGateway = (family: IpFamily): string => (family === 4 ? '0.0.0.0' : '::');
