// Driver binding of one PCI function through sysfs. Every operation checks the
// current state first, so each is idempotent and safe to repeat after a crash.
import { NetletError } from '../../model/errors.js';
import type { SysfsPort, WaitOptions } from '../sysfs.js';
import { waitUntil } from '../sysfs.js';
import { DRIVERS_PROBE, VFIO_PCI, basename, devDir, driverDir } from './pci.js';

export async function currentDriver(sysfs: SysfsPort, pci: string): Promise<string | null> {
  const link = `${devDir(pci)}/driver`;
  return (await sysfs.exists(link)) ? basename(await sysfs.readlink(link)) : null;
}

/** Unbinds the bound driver unless it is vfio-pci (already done) or none. */
export async function unbindDriver(sysfs: SysfsPort, pci: string): Promise<void> {
  const drv = await currentDriver(sysfs, pci);
  if (drv === null || drv === VFIO_PCI) return;
  await sysfs.write(`${driverDir(drv)}/unbind`, pci);
}

/**
 * driver_override then drivers_probe: binds exactly this device to vfio-pci.
 * (new_id would make vfio-pci grab every device with these ids.)
 */
export async function bindVfio(sysfs: SysfsPort, pci: string): Promise<void> {
  const drv = await currentDriver(sysfs, pci);
  if (drv === VFIO_PCI) return;
  if (drv !== null) throw new NetletError('DEVICE_BUSY', `VF ${pci} is still bound to ${drv}; cannot bind vfio-pci`, { pci, driver: drv });
  await sysfs.write(`${devDir(pci)}/driver_override`, VFIO_PCI);
  await sysfs.write(DRIVERS_PROBE, pci);
}

export async function waitVfioDevice(sysfs: SysfsPort, pci: string, group: string, opts?: WaitOptions): Promise<string> {
  try {
    await waitUntil(async () => (await currentDriver(sysfs, pci)) === VFIO_PCI, `vfio-pci to bind ${pci}`, opts);
  } catch (e) {
    throw new NetletError('VFIO_NOT_BOUND', `VF ${pci} did not bind to vfio-pci: is the vfio-pci module loaded (modprobe vfio-pci)?`, { pci }, { cause: e });
  }
  await sysfs.waitForDev(`vfio/${group}`, opts);
  return `${sysfs.devRoot}/vfio/${group}`;
}

export async function unbindVfio(sysfs: SysfsPort, pci: string): Promise<void> {
  if ((await currentDriver(sysfs, pci)) !== VFIO_PCI) return;
  await sysfs.write(`${driverDir(VFIO_PCI)}/unbind`, pci);
}

/** The kernel shows an unset override as "(null)"; writing "\n" clears it. */
export async function clearOverride(sysfs: SysfsPort, pci: string): Promise<void> {
  const cur = (await sysfs.read(`${devDir(pci)}/driver_override`)).trim();
  if (cur === '' || cur === '(null)') return;
  await sysfs.write(`${devDir(pci)}/driver_override`, '\n');
}

/** drivers_probe lets the kernel match the device again; then waits for `driver` to bind. */
export async function reprobe(sysfs: SysfsPort, pci: string, driver: string, opts?: WaitOptions): Promise<void> {
  const drv = await currentDriver(sysfs, pci);
  if (drv === null) await sysfs.write(DRIVERS_PROBE, pci);
  else if (drv !== driver) {
    throw new NetletError('DRIVER_CHANGED', `VF ${pci} is bound to ${drv}, expected ${driver}; not touching it`, { pci, driver: drv });
  }
  try {
    await waitUntil(async () => (await currentDriver(sysfs, pci)) === driver, `${driver} to bind ${pci}`, opts);
  } catch (e) {
    throw new NetletError('REPROBE_FAILED', `VF ${pci}: ${driver} did not bind again after drivers_probe (is the module loaded?)`, { pci, driver }, { cause: e });
  }
}

/** Names of the netdevs sysfs shows under the device (host netns view). */
export async function hostNetdevs(sysfs: SysfsPort, pci: string): Promise<string[]> {
  const dir = `${devDir(pci)}/net`;
  return (await sysfs.exists(dir)) ? sysfs.list(dir) : [];
}
