// PfControlPort over rtnetlink (what `ip link show/set <pf> vf N` does): VF info
// via RTM_GETLINK with IFLA_EXT_MASK=RTEXT_FILTER_VF, changes via IFLA_VFINFO_LIST.
// Only exercisable against a real SR-IOV PF; tests use test/support/fake-pf.ts.
import { endianness } from 'node:os';
import { createRtNetlink, ifla, rt, type RtNetlinkSocket } from 'netlink';
import type { VfConfig } from '../../machines/sriov-contract.js';
import { NetletError, SysError } from '../../model/errors.js';
import { bytesToMac, macToBytes } from '../../model/ip.js';
import type { PfControlPort } from './ports.js';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function rtnlError(op: string, e: unknown, details: Record<string, unknown>): SysError {
  const msg = e instanceof Error ? e.message : String(e);
  const raw = /Request rejected: (\w+)/.exec(msg)?.[1] ?? 'EIO';
  // Linux has one number (95) for both; node names it ENOTSUP, the kernel EOPNOTSUPP.
  const errno = raw === 'ENOTSUP' ? 'EOPNOTSUPP' : raw;
  const hint = errno === 'EOPNOTSUPP' ? ' (PF driver does not support this VF setting)' : '';
  return new SysError(errno, `rtnetlink ${op}`, `${op} ${JSON.stringify(details)}: ${errno}${hint}`, details);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (endianness() === 'LE') b.writeUInt32LE(n);
  else b.writeUInt32BE(n);
  return b;
}

/** struct ifla_vf_mac carries 32 bytes; Ethernet uses the first 6. */
function macBytes(mac: string): number[] {
  const m = mac.toLowerCase();
  if (!MAC_RE.test(m)) throw new NetletError('BAD_MAC', `not a MAC address: "${mac}"`, { mac });
  const bytes = [...macToBytes(m)];
  return [...bytes, ...new Array<number>(32 - bytes.length).fill(0)];
}

const macString = (bytes: number[]): string => bytesToMac(Uint8Array.from(bytes.slice(0, 6)));

/** spoofchk/trust are u32 settings; the kernel reports (u32)-1 when the driver does not say. */
const setting = (v: number | undefined): boolean | undefined => (v === undefined || v === 0xffffffff ? undefined : v !== 0);

export class RtnlPfControl implements PfControlPort {
  constructor(private readonly sock: RtNetlinkSocket = createRtNetlink()) {}

  close(): void {
    this.sock.socket.close();
  }

  private async pfLink(pf: string, withVfs: boolean): Promise<rt.LinkMessage> {
    try {
      const attrs: ifla.LinkAttrs = { ifname: pf };
      if (withVfs) attrs.extMask = u32(rt.formatRtExtFilter({ vf: true }));
      const [msg] = await this.sock.getLink({}, attrs);
      if (!msg) throw new SysError('ENODEV', 'rtnetlink getLink', `no link ${pf}`, { pf });
      return msg;
    } catch (e) {
      throw e instanceof SysError ? e : rtnlError('getLink', e, { pf });
    }
  }

  async getVf(pf: string, vf: number): Promise<VfConfig> {
    const msg = await this.pfLink(pf, true);
    for (const info of msg.attrs.vfinfoList?.x ?? []) {
      if (!info.mac) continue;
      const mac = ifla.parseVirtualFunctionMac(info.mac);
      if (mac.vf !== vf) continue;
      const vlan = info.vlan ? ifla.parseVirtualFunctionVlan(info.vlan) : {};
      const spoof = info.spoofchk ? ifla.parseVirtualFunctionSpoofchk(info.spoofchk).setting : undefined;
      const trust = info.trust ? ifla.parseVirtualFunctionTrust(info.trust).setting : undefined;
      const cfg: VfConfig = { mac: macString(mac.mac ?? []), vlan: vlan.vlan ?? 0, qos: vlan.qos ?? 0 };
      const s = setting(spoof);
      const t = setting(trust);
      if (s !== undefined) cfg.spoofchk = s;
      if (t !== undefined) cfg.trust = t;
      return cfg;
    }
    throw new NetletError('VF_NOT_FOUND', `PF ${pf} reports no VF ${vf} (is it an SR-IOV PF with sriov_numvfs > ${vf}?)`, { pf, vf });
  }

  private async setVf(op: string, pf: string, info: ifla.VirtualFunction, details: Record<string, unknown>): Promise<void> {
    const index = (await this.pfLink(pf, false)).data.index;
    try {
      await this.sock.setLink({ index }, { vfinfoList: { x: [info] } });
    } catch (e) {
      throw rtnlError(op, e, { pf, ...details });
    }
  }

  async setVfMac(pf: string, vf: number, mac: string): Promise<void> {
    await this.setVf('setVfMac', pf, { mac: ifla.formatVirtualFunctionMac({ vf, mac: macBytes(mac) }) }, { vf, mac });
  }

  async setVfVlan(pf: string, vf: number, vlan: number, qos: number): Promise<void> {
    if (!Number.isInteger(vlan) || vlan < 0 || vlan > 4095) throw new NetletError('BAD_VLAN', `VLAN ${vlan} is not in 0..4095`, { vlan });
    if (!Number.isInteger(qos) || qos < 0 || qos > 7) throw new NetletError('BAD_QOS', `QoS ${qos} is not in 0..7`, { qos });
    await this.setVf('setVfVlan', pf, { vlan: ifla.formatVirtualFunctionVlan({ vf, vlan, qos }) }, { vf, vlan, qos });
  }
}
