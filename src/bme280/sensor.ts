// What the bme280-sensor node does, without Node-RED: settings in, one reading per
// call out, the bus shared with other sensors and let go on close.

import { Bme280, hex } from './bme280';
import { hardwareBusLabel, openHardwareBus, type I2cBus } from './bus';
import type { Reading } from './compensation';
import type { ChipModel } from './registers';
import { leaseBus, type BusLease } from './shared-bus';
import { SIMULATED_BUS_LABEL, sharedSimulatedBus } from './simulated/bus';
import type { SensorSettings } from './settings';

export interface SensorReport {
  payload: Reading;
  sensor: { chip: ChipModel; address: string; bus: string };
}

export interface SensorDependencies {
  /** Opens /dev/i2c-N; replaced in tests to stand for a platform without i2c-bus. */
  openHardware?: (busNumber: number) => Promise<I2cBus>;
}

export class Bme280Sensor {
  private readonly driver: Bme280;
  private readonly lease: BusLease;
  private readonly busName: string;

  constructor(settings: SensorSettings, dependencies: SensorDependencies = {}) {
    const openHardware = dependencies.openHardware ?? ((n: number) => openHardwareBus(n));
    const bus = settings.bus;
    this.busName = String(bus);
    this.lease = bus === 'simulated'
      ? leaseBus('simulated', async () => sharedSimulatedBus().open())
      : leaseBus(`i2c-${bus}`, () => openHardware(bus));
    this.driver = new Bme280({
      address: settings.address,
      oversampling: settings.oversampling,
      filter: settings.filter,
      busLabel: bus === 'simulated' ? SIMULATED_BUS_LABEL : hardwareBusLabel(bus),
    });
  }

  /** One forced-mode reading, queued behind any other reading on the same bus. */
  async read(): Promise<SensorReport> {
    const payload = await this.lease.run((bus) => this.driver.read(bus));
    const chip = this.driver.chip;
    if (chip === null) throw new Error('reading finished without a chip');
    return {
      payload,
      sensor: { chip: chip.model, address: hex(chip.address), bus: this.busName },
    };
  }

  /** Lets go of the bus; the last sensor on it closes it. */
  close(): Promise<void> {
    return this.lease.release();
  }
}
