// Helpers shared by the BME280 tests: a bus wrapper that records every transfer.

import type { I2cBus } from '../../src/bme280/bus';

export interface Transfer {
  op: 'readByte' | 'writeByte' | 'readI2cBlock' | 'writeI2cBlock';
  address: number;
  register: number;
  /** The byte written, or the length of a block. */
  value: number;
}

export function recording(bus: I2cBus, log: Transfer[]): I2cBus {
  return {
    readByte: (address, register) => {
      log.push({ op: 'readByte', address, register, value: 1 });
      return bus.readByte(address, register);
    },
    writeByte: (address, register, value) => {
      log.push({ op: 'writeByte', address, register, value });
      return bus.writeByte(address, register, value);
    },
    readI2cBlock: (address, register, length, buffer) => {
      log.push({ op: 'readI2cBlock', address, register, value: length });
      return bus.readI2cBlock(address, register, length, buffer);
    },
    writeI2cBlock: (address, register, length, buffer) => {
      log.push({ op: 'writeI2cBlock', address, register, value: length });
      return bus.writeI2cBlock(address, register, length, buffer);
    },
    close: () => bus.close(),
  };
}
