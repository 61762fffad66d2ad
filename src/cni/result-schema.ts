// zod schema of a CNI result, 0.3.0 through 1.1.0. One schema fits all: the
// versions differ only by fields netlet ignores (`ips[].version`) or tolerates
// when absent (1.1.0 interface mtu/pciID/socketPath, route mtu/table/...).
// Unknown fields are stripped; null stands for absent (Go marshals nil slices so).
import { z } from 'zod';
import { familyOf, normaliseMac, parseCidr } from '../model/ip.js';

const cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: 'expected an address in CIDR form like 10.1.0.5/24 or fd00::5/64',
});
const ipAddress = z.string().refine((s) => familyOf(s) !== undefined, { message: 'expected an IPv4 or IPv6 address' });
/** Go marshals an unset net.IP as "" in some plugins: treat it as absent. */
const optionalIp = z.union([z.literal(''), ipAddress]).nullish();
const mac = z.string().refine((s) => s === '' || normaliseMac(s) !== undefined, {
  message: 'expected a MAC address like 0a:58:0a:01:00:05',
});

export const interfaceSchema = z.object({
  name: z.string().min(1, 'expected a non-empty interface name'),
  mac: mac.nullish(),
  sandbox: z.string().nullish(),
  mtu: z.number().int().min(0).max(65535).nullish(),
  pciID: z.string().nullish(),
  socketPath: z.string().nullish(),
});

export const ipSchema = z.object({
  address: cidr,
  gateway: optionalIp,
  interface: z.number().int().min(0).nullish(),
});

export const routeSchema = z.object({
  dst: cidr,
  gw: optionalIp,
});

export const dnsSchema = z.object({
  nameservers: z.array(z.string()).nullish(),
  domain: z.string().nullish(),
  search: z.array(z.string()).nullish(),
  options: z.array(z.string()).nullish(),
});

export const resultSchema = z.object({
  cniVersion: z.string(),
  interfaces: z.array(interfaceSchema).nullish(),
  ips: z.array(ipSchema).nullish(),
  routes: z.array(routeSchema).nullish(),
  dns: dnsSchema.nullish(),
});

export type RawCniResult = z.infer<typeof resultSchema>;
