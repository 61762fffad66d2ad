// Typed DHCP errors. Parse errors are returned (never thrown) because packets come
// from untrusted VMs; config and encode errors are thrown because they are our bugs
// or bad plans, found before any packet is served.
import { NetletError } from '../model/errors.js';

export type DhcpParseErrorReason =
  | 'too-short'
  | 'bad-op'
  | 'bad-hlen'
  | 'no-magic-cookie'
  | 'option-overrun'
  | 'bad-overload';

/** A packet that is not a well-formed BOOTP/DHCP message. */
export class DhcpParseError extends NetletError {
  readonly reason: DhcpParseErrorReason;
  constructor(reason: DhcpParseErrorReason, message: string, details?: Record<string, unknown>) {
    super('DHCP_PARSE', message, { reason, ...details });
    this.reason = reason;
  }
}

/** A value that cannot be written into a DHCP packet (bad address, over-long name). */
export class DhcpEncodeError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('DHCP_ENCODE', message, details);
  }
}

/** A server config that cannot be served: no IPv4 address, no MAC, bad names. */
export class DhcpConfigError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('DHCP_CONFIG', message, details);
  }
}
