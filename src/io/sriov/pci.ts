// PCI addresses and the sysfs paths of one PCI function.
import { NetletError } from '../../model/errors.js';

/** domain:bus:slot.function; domains can be wider than 4 digits (e.g. Intel VMD uses 10000). */
const PCI_RE = /^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;

export function normalizePci(addr: string): string {
  const a = addr.trim().toLowerCase();
  if (!PCI_RE.test(a)) throw new NetletError('BAD_PCI_ADDRESS', `not a PCI address: "${addr}" (want e.g. 0000:3b:02.1)`, { addr });
  return a;
}

export const devDir = (pci: string): string => `bus/pci/devices/${pci}`;
export const driverDir = (driver: string): string => `bus/pci/drivers/${driver}`;
export const DRIVERS_PROBE = 'bus/pci/drivers_probe';
export const VFIO_PCI = 'vfio-pci';

export const basename = (p: string): string => p.replace(/\/+$/, '').split('/').pop() ?? '';
