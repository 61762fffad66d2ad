// Typed DHCPv6 errors, as for DHCPv4 (src/dhcp/errors.ts): parse errors are returned,
// never thrown (packets come from the VM); encode and config errors are thrown (our bugs
// or a plan that cannot be served, found before any packet is served).
import { NetletError } from '../model/errors.js';

export type Dhcp6ParseErrorReason =
  | 'too-short' // under the 4-octet message header
  | 'relay-unsupported' // Relay-forward/Relay-reply: netlet's server sits on the VM's own link
  | 'option-overrun' // an option (or sub-option) runs past its container
  | 'bad-option'; // a known option whose value has the wrong shape

/** A UDP payload that is not a well-formed DHCPv6 client/server message. */
export class Dhcp6ParseError extends NetletError {
  readonly reason: Dhcp6ParseErrorReason;
  constructor(reason: Dhcp6ParseErrorReason, message: string, details?: Record<string, unknown>) {
    super('DHCP6_PARSE', message, { reason, ...details });
    this.reason = reason;
  }
}

/** A value that cannot be written into a DHCPv6 message. */
export class Dhcp6EncodeError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('DHCP6_ENCODE', message, details);
  }
}

/** A server config that cannot be served: no global IPv6 address, bad DUID, bad names. */
export class Dhcp6ConfigError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('DHCP6_CONFIG', message, details);
  }
}
