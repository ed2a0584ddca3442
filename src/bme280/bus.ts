// The part of i2c-bus's PromisifiedBus that the driver uses, and the lazy loading of
// i2c-bus itself. It is an optional dependency: on a laptop or a platform where the
// native addon cannot be built the package still installs, and only a node that asks
// for a real bus fails, with an error that says so.

import { Bme280Error } from './errors';

export interface BlockRead {
  bytesRead: number;
  buffer: Buffer;
}

/** Structurally a subset of i2c-bus's PromisifiedBus, so a real bus fits as is. */
export interface I2cBus {
  readByte(address: number, command: number): Promise<number>;
  writeByte(address: number, command: number, byte: number): Promise<void>;
  readI2cBlock(
    address: number, command: number, length: number, buffer: Buffer,
  ): Promise<BlockRead>;
  writeI2cBlock(
    address: number, command: number, length: number, buffer: Buffer,
  ): Promise<{ bytesWritten: number; buffer: Buffer }>;
  close(): Promise<void>;
}

export interface I2cBusModule {
  openPromisified(busNumber: number): Promise<I2cBus>;
}

export type I2cBusLoader = () => Promise<I2cBusModule>;

const loadI2cBus: I2cBusLoader = () => import('i2c-bus');

/**
 * Opens /dev/i2c-<busNumber>. i2c-bus opens the device file only at the first
 * transfer, so a missing bus shows up there, as ENOENT.
 */
export async function openHardwareBus(
  busNumber: number, load: I2cBusLoader = loadI2cBus,
): Promise<I2cBus> {
  let i2c: I2cBusModule;
  try {
    i2c = await load();
  } catch (error) {
    throw new Bme280Error('no-driver', {}, { cause: error });
  }
  return i2c.openPromisified(busNumber);
}

export function hardwareBusLabel(busNumber: number): string {
  return `/dev/i2c-${busNumber}`;
}
