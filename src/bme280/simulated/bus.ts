// A simulated I2C bus: devices by address, the PromisifiedBus calls of i2c-bus that the
// driver and the bme280 package use, a transaction counter, and the wire time of each
// transfer at a chosen clock. An address nobody answers fails as on a Raspberry Pi,
// with EREMOTEIO.

import type { BlockRead, I2cBus } from '../bus';
import { now, waitUntil } from '../timing';
import { Bme280Model, type I2cDevice } from './model';

export interface SimulatedBusOptions {
  /** SCL frequency for wire time; 0 (default) makes transfers take no time. */
  clockHz?: number;
}

/** START, address byte, register byte, then for reads a repeated START and the
 *  address byte again; every byte is 9 clocks with its acknowledge; then STOP. */
function wireBits(kind: 'read' | 'write', dataBytes: number): number {
  return kind === 'read' ? 1 + 9 * 2 + 1 + 9 + 9 * dataBytes + 1 : 1 + 9 * 2 + 9 * dataBytes + 1;
}

function remoteIoError(syscall: string): Error {
  // The shape i2c-bus gives a failed ioctl: message, errno, code and syscall.
  return Object.assign(new Error('EREMOTEIO, Remote I/O error'),
    { errno: 121, code: 'EREMOTEIO', syscall });
}

export class SimulatedI2c {
  /** Every transfer addressed to the bus, acknowledged or not. */
  transactions = 0;
  private readonly devices = new Map<number, I2cDevice>();
  private readonly clockHz: number;
  private busyUntil = 0;

  constructor(options: SimulatedBusOptions = {}) {
    this.clockHz = options.clockHz ?? 0;
  }

  attach(address: number, device: I2cDevice): this {
    this.devices.set(address, device);
    return this;
  }

  /** Takes a device off the bus, as a loose wire would. */
  detach(address: number): I2cDevice | undefined {
    const device = this.devices.get(address);
    this.devices.delete(address);
    return device;
  }

  device(address: number): I2cDevice | undefined {
    return this.devices.get(address);
  }

  /** A handle with the i2c-bus PromisifiedBus calls; close() only closes the handle. */
  open(): I2cBus {
    let closed = false;
    const transfer = async <T>(
      syscall: string, address: number, kind: 'read' | 'write', bytes: number,
      act: (device: I2cDevice, at: number) => T,
    ): Promise<T> => {
      if (closed) throw new Error('the simulated bus handle is closed');
      if (!Number.isInteger(address) || address < 0 || address > 0x7f) {
        throw new Error(`Invalid I2C address ${address}`);
      }
      this.transactions++;
      const start = Math.max(now(), this.busyUntil);
      const end = this.clockHz > 0 ? start + (wireBits(kind, bytes) * 1000) / this.clockHz : start;
      this.busyUntil = end;
      // i2c-bus completes every transfer on its thread pool, never synchronously.
      if (end > start) await waitUntil(end);
      else await new Promise((resolve) => setImmediate(resolve));
      const device = this.devices.get(address);
      if (device === undefined) throw remoteIoError(syscall);
      return act(device, end);
    };

    return {
      readByte: (address, command) => transfer('readByte', address, 'read', 1,
        (device, at) => device.read(command, 1, at)[0] ?? 0),
      writeByte: (address, command, byte) => transfer('writeByte', address, 'write', 1,
        (device, at) => device.write(command, Uint8Array.of(byte), at)),
      readI2cBlock: (address, command, length, buffer) =>
        transfer('readI2cBlock', address, 'read', length, (device, at): BlockRead => {
          buffer.set(device.read(command, length, at));
          return { bytesRead: length, buffer };
        }),
      writeI2cBlock: (address, command, length, buffer) =>
        transfer('writeI2cBlock', address, 'write', length, (device, at) => {
          device.write(command, buffer.subarray(0, length), at);
          return { bytesWritten: length, buffer };
        }),
      close: async () => { closed = true; },
    };
  }
}

let shared: SimulatedI2c | null = null;

/**
 * The bus behind the node's "simulated" setting: one per process, so it outlives
 * redeploys like real hardware, with a BME280 at 0x76 and another at 0x77 so that a
 * flow written for either address runs unchanged.
 */
export function sharedSimulatedBus(): SimulatedI2c {
  if (shared === null) {
    shared = new SimulatedI2c()
      .attach(0x76, new Bme280Model({ noise: 0x76 }))
      .attach(0x77, new Bme280Model({ noise: 0x77 }));
  }
  return shared;
}

export const SIMULATED_BUS_LABEL = 'the simulated bus';
