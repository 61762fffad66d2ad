// IPv6 prefix length as a mask, the way network_data.json spells it ("ffff:ffff:ffff:ffff::").
// model/ip.ts has prefixToMask for IPv4 only.

export function ipv6PrefixToMask(prefixLength: number): string {
  const groups: number[] = [];
  for (let g = 0; g < 8; g++) {
    const bits = Math.min(16, Math.max(0, prefixLength - g * 16));
    groups.push(bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff);
  }
  // Compress the trailing run of zero groups (two or more, as inet_ntop does).
  const last = groups.findLastIndex((g) => g !== 0);
  if (last >= 6) return groups.map((g) => g.toString(16)).join(':');
  if (last < 0) return '::';
  return `${groups.slice(0, last + 1).map((g) => g.toString(16)).join(':')}::`;
}
