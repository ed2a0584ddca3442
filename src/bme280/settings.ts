// The node's properties as Node-RED hands them over. Flows written by the editor carry
// strings, hand-written ones often numbers; both are accepted and checked here once.

import { Bme280Error } from './errors';
import {
  FILTER_COEFFICIENTS, OVERSAMPLINGS,
  type ChannelOversampling, type FilterCoefficient, type Oversampling,
} from './registers';

export interface SensorConfig {
  bus?: unknown;
  address?: unknown;
  osrsT?: unknown;
  osrsP?: unknown;
  osrsH?: unknown;
  filter?: unknown;
}

export interface SensorSettings {
  /** An I2C bus number, or the register-level model. */
  bus: number | 'simulated';
  address: number | 'auto';
  oversampling: ChannelOversampling;
  filter: FilterCoefficient;
}

const ADDRESS_NAMES: Record<string, number | 'auto'> = {
  '0x76': 0x76, '0x77': 0x77, 'auto': 'auto', '118': 0x76, '119': 0x77,
};

function text(value: unknown, fallback: string): string {
  if (value === undefined || value === null || value === '') return fallback;
  return typeof value === 'number' ? String(value) : String(value).trim().toLowerCase();
}

function invalid(property: string, allowed: string): Bme280Error {
  return new Bme280Error('settings', { property, allowed });
}

function pick<T extends number>(
  value: unknown, fallback: T, allowed: readonly T[], property: string,
): T {
  const parsed = Number(text(value, String(fallback)));
  const found = allowed.find((candidate) => candidate === parsed);
  if (found === undefined) throw invalid(property, `one of ${allowed.join(', ')}`);
  return found;
}

export function parseSettings(config: SensorConfig): SensorSettings {
  const busText = text(config.bus, '1');
  let bus: number | 'simulated';
  if (busText === 'simulated') {
    bus = 'simulated';
  } else if (/^\d+$/.test(busText)) {
    bus = Number(busText);
  } else {
    throw invalid('bus', 'a bus number such as 1, or "simulated"');
  }

  const address = ADDRESS_NAMES[text(config.address, '0x76')];
  if (address === undefined) throw invalid('address', '0x76, 0x77 or auto');

  const oversampling: ChannelOversampling = {
    temperature: pick<Oversampling>(config.osrsT, 1, OVERSAMPLINGS, 'osrsT'),
    pressure: pick<Oversampling>(config.osrsP, 1, OVERSAMPLINGS, 'osrsP'),
    humidity: pick<Oversampling>(config.osrsH, 1, OVERSAMPLINGS, 'osrsH'),
  };
  // Pressure and humidity are compensated with t_fine from the temperature channel,
  // so without it they would be computed from the temperature's skip marker.
  if (oversampling.temperature === 0 && (oversampling.pressure > 0 || oversampling.humidity > 0)) {
    throw invalid('osrsT', 'on (1 or more) while pressure or humidity is on');
  }
  const filter = pick<FilterCoefficient>(config.filter, 0, FILTER_COEFFICIENTS, 'filter');

  return { bus, address, oversampling, filter };
}
