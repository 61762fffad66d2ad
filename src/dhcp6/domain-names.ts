// Domain name lists as RFC 1035 section 3.1 labels WITHOUT compression: DHCPv6 option 24
// (RFC 8415 section 10 forbids compressed names) and the RA DNSSL option (RFC 8106
// section 5.2). DHCPv4 option 119 compresses (src/dhcp/options.ts), so its encoder cannot
// be reused; its name check can.
import { isEncodableDomainName, labelText } from '../dhcp/options.js';

export { isEncodableDomainName };

/** Thrown by the encoder; the caller maps it to its own typed error. */
export class DomainNameError extends Error {}

/** Each name as labels ending with the zero root label, back to back. */
export function encodeDomainNames(names: readonly string[]): Uint8Array {
  const out: number[] = [];
  for (const name of names) {
    if (!isEncodableDomainName(name)) throw new DomainNameError(`"${name}" is not a valid domain name`);
    const labels = (name.endsWith('.') ? name.slice(0, -1) : name).split('.');
    for (const label of labels) out.push(label.length, ...Array.from(label, (c) => c.charCodeAt(0)));
    out.push(0);
  }
  return Uint8Array.from(out);
}

/**
 * Decodes back-to-back uncompressed names; undefined for a pointer, a label over 63 octets
 * or one the encoder would not write back the same (labelText), a name over 255 octets or
 * one cut short. With `padded` (DNSSL), zeros where a name would start end the list and
 * must run to the end (RFC 8106 padding).
 */
export function decodeDomainNames(d: Uint8Array, padded = false): string[] | undefined {
  const names: string[] = [];
  let pos = 0;
  while (pos < d.length) {
    if (d[pos] === 0) {
      if (!padded) return undefined; // an empty (root) name in a search list
      return d.subarray(pos).every((b) => b === 0) ? names : undefined;
    }
    const start = pos;
    const labels: string[] = [];
    for (;;) {
      const len = d[pos];
      if (len === undefined || len > 63) return undefined;
      if (len === 0) { pos += 1; break; }
      if (pos + 1 + len > d.length) return undefined;
      const label = labelText(d.subarray(pos + 1, pos + 1 + len));
      if (label === undefined) return undefined;
      labels.push(label);
      pos += 1 + len;
    }
    if (pos - start > 255) return undefined;
    names.push(labels.join('.'));
  }
  return names;
}
