// The datasheet's floating-point compensation against values worked out by hand with
// exact rational arithmetic (t_fine truncated toward zero, as Bosch's driver does), not
// with this code. Differences in the order of operations stay far below 1e-9.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Calibration, HumidityCalibration } from '../../src/bme280/calibration';
import {
  compensate, compensateHumidity, compensatePressure, compensateTemperature,
} from '../../src/bme280/compensation';

const EXAMPLE: Calibration = {
  T1: 27504, T2: 26435, T3: -1000,
  P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600,
  P9: 6000,
  humidity: { H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30 },
};
const NEGATIVE: HumidityCalibration = { H1: 200, H2: 150, H3: 200, H4: -100, H5: -50, H6: -30 };
const NEGATIVE_H2: HumidityCalibration = {
  H1: 160, H2: -200, H3: 150, H4: 1000, H5: -20, H6: -60,
};

function close(actual: number, expected: number, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance,
    `${actual} differs from ${expected} by more than ${tolerance}`);
}

describe('temperature', () => {
  const cases = [
    { name: 'datasheet example', adcT: 519888, celsius: 25.08247793081682, tFine: 128422 },
    // A negative fine value truncates toward zero, not down (-64735.27 -> -64735).
    { name: 'below zero', adcT: 400000, celsius: -12.64360672980547, tFine: -64735 },
    { name: 'clamped at 85', adcT: 0xfffff, celsius: 85, tFine: 960257 },
    { name: 'clamped at -40', adcT: 0, celsius: -40, tFine: -721299 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const t = compensateTemperature(c.adcT, EXAMPLE);
      close(t.celsius, c.celsius);
      assert.equal(t.tFine, c.tFine);
    });
  }

  test('datasheet example rounds to the printed 25.08 degC', () => {
    assert.equal(compensateTemperature(519888, EXAMPLE).celsius.toFixed(2), '25.08');
  });
});

describe('pressure', () => {
  const cases = [
    // The datasheet prints 100653.27 Pa, which it gets with an untruncated t_fine
    // (100653.2668); Bosch's driver truncates t_fine first.
    { name: 'datasheet example', adcP: 415148, tFine: 128422, pa: 100653.25814481474 },
    { name: 'at a negative t_fine', adcP: 415148, tFine: -64735, pa: 94916.33398334662 },
    { name: 'clamped at 1100 hPa', adcP: 0, tFine: 128422, pa: 110000 },
    { name: 'clamped at 300 hPa', adcP: 0xfffff, tFine: 128422, pa: 30000 },
  ];
  for (const c of cases) {
    test(c.name, () => close(compensatePressure(c.adcP, c.tFine, EXAMPLE), c.pa));
  }

  test('a zero divisor gives the lower bound', () => {
    assert.equal(compensatePressure(415148, 128422, { ...EXAMPLE, P1: 0 }), 30000);
  });

  test('datasheet example is within 0.02 Pa of the printed value', () => {
    close(compensatePressure(415148, 128422, EXAMPLE), 100653.27, 0.02);
  });
});

describe('humidity', () => {
  const typical = EXAMPLE.humidity;
  assert.ok(typical !== null);
  const cases = [
    { name: 'typical coefficients', adcH: 30000, tFine: 128422, cal: typical,
      rh: 55.000712804837015 },
    { name: 'negative H4, H5, H6; H1 and H3 above 127', adcH: 12000, tFine: 129775,
      cal: NEGATIVE, rh: 40.66806566126651 },
    { name: 'negative H2', adcH: 45000, tFine: 128422, cal: NEGATIVE_H2,
      rh: 53.89906773860373 },
    { name: 'clamped at 0', adcH: 0, tFine: 128422, cal: typical, rh: 0 },
    { name: 'clamped at 100', adcH: 65535, tFine: 128422, cal: typical, rh: 100 },
  ];
  for (const c of cases) {
    test(c.name, () => close(compensateHumidity(c.adcH, c.tFine, c.cal), c.rh));
  }
});

describe('channels switched off', () => {
  // Compensated, the skip markers would read 26.46 degC, 818.75 hPa and 70.36 %RH.
  const markers = { adcT: 0x80000, adcP: 0x80000, adcH: 0x8000 };
  const cases = [
    { name: 'humidity off', on: { temperature: true, pressure: true, humidity: false },
      nulls: ['humidity'] },
    { name: 'pressure off', on: { temperature: true, pressure: false, humidity: true },
      nulls: ['pressure'] },
    { name: 'temperature off takes the others with it',
      on: { temperature: false, pressure: true, humidity: true },
      nulls: ['temperature', 'pressure', 'humidity'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const reading = compensate(markers, EXAMPLE, c.on);
      for (const key of ['temperature', 'pressure', 'humidity'] as const) {
        if (c.nulls.includes(key)) assert.equal(reading[key], null, key);
        else assert.equal(typeof reading[key], 'number', key);
      }
    });
  }

  test('a chip without humidity gives null humidity', () => {
    const reading = compensate({ adcT: 519888, adcP: 415148, adcH: null },
      { ...EXAMPLE, humidity: null }, { temperature: true, pressure: true, humidity: true });
    assert.equal(reading.humidity, null);
    close(reading.pressure ?? 0, 1006.5325814481474);
  });
});

describe('humidity agrees with the datasheet integer formula', () => {
  /** The datasheet's 32-bit integer humidity formula, Q22.10 %RH; `>>` on signed
   *  values is an arithmetic shift, here a floored division. */
  function integerHumidity(adcH: number, tFine: number, c: HumidityCalibration): number {
    const sar = (value: number, bits: number): number => Math.floor(value / 2 ** bits);
    let v = tFine - 76800;
    const offset = sar(adcH * 2 ** 14 - c.H4 * 2 ** 20 - c.H5 * v + 16384, 15);
    const slope = sar((sar(sar(v * c.H6, 10) * (sar(v * c.H3, 11) + 32768), 10) + 2097152)
      * c.H2 + 8192, 14);
    v = offset * slope;
    v -= sar(sar(sar(v, 15) * sar(v, 15), 7) * c.H1, 4);
    v = Math.min(419430400, Math.max(0, v));
    return sar(v, 12) / 1024;
  }

  // With H3 != 0 these separate the datasheet's double formula from the variant that
  // multiplies by (1 + H3 / 2^26 * dt) twice (off by 6 %RH in the second case).
  const cases = [
    { adcH: 12000, tFine: 129775, cal: NEGATIVE },
    { adcH: 45000, tFine: 128422, cal: NEGATIVE_H2 },
    { adcH: 30000, tFine: 128422, cal: { ...NEGATIVE_H2, H2: 362, H4: 313, H3: 120 } },
  ];
  for (const [i, c] of cases.entries()) {
    test(`case ${i + 1}`, () => {
      close(compensateHumidity(c.adcH, c.tFine, c.cal), integerHumidity(c.adcH, c.tFine, c.cal),
        0.02);
    });
  }
});
