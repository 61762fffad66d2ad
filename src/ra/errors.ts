// Typed Neighbor Discovery errors. Parse errors are returned, never thrown (RS come from
// the VM, RAs from the cluster side); encode and config errors are thrown (our bugs, or a
// plan that cannot be advertised).
import { NetletError } from '../model/errors.js';

export type NdParseErrorReason =
  | 'too-short' // under the fixed part of the message
  | 'bad-type' // not the ICMPv6 type asked for (133 RS, 134 RA)
  | 'bad-code' // code is not 0
  | 'bad-hop-limit' // IPv6 hop limit not 255: the message crossed a router (RFC 4861 section 6.1)
  | 'bad-checksum'
  | 'option-overrun' // an option runs past the end of the message
  | 'zero-length-option' // RFC 4861 section 4.6: a zero length is invalid
  | 'bad-option' // a known option with the wrong length or contents
  | 'slla-from-unspecified'; // an RS from :: must not carry a source link-layer address (6.1.1)

export class NdParseError extends NetletError {
  readonly reason: NdParseErrorReason;
  constructor(reason: NdParseErrorReason, message: string, details?: Record<string, unknown>) {
    super('ND_PARSE', message, { reason, ...details });
    this.reason = reason;
  }
}

export class NdEncodeError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ND_ENCODE', message, details);
  }
}

export class RaConfigError extends NetletError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('RA_CONFIG', message, details);
  }
}
