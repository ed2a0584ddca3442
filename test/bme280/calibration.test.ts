// Calibration parsing from literal NVM bytes, worked out by hand from the datasheet's
// table 16, and the register helpers the driver and the model share.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCalibration } from '../../src/bme280/calibration';
import {
  filterCode, filterCoefficient, measurementTime, oversamplingCode, oversamplingFactor,
} from '../../src/bme280/registers';
import {
  DATASHEET_EXAMPLE, NEGATIVE_H2, NEGATIVE_HUMIDITY, encodeCalibration,
} from '../../src/bme280/simulated/nvm';

/** 0x88..0xA1 of the datasheet example: T1 27504 (0x6b70), T2 26435, T3 -1000 (0xfc18),
 *  P1 36477 (0x8e7d), P2 -10685 (0xd643), ..., the reserved 0xA0, then dig_H1. */
function tpBlock(h1: number): Uint8Array {
  return Uint8Array.of(
    0x70, 0x6b, 0x43, 0x67, 0x18, 0xfc, 0x7d, 0x8e, 0x43, 0xd6, 0xd0, 0x0b, 0x27, 0x0b,
    0x8c, 0x00, 0xf9, 0xff, 0x8c, 0x3c, 0xf8, 0xc6, 0x70, 0x17, 0x00, h1);
}

describe('parseCalibration', () => {
  test('temperature and pressure words of the datasheet example', () => {
    const cal = parseCalibration(tpBlock(75), null);
    assert.deepEqual(
      [cal.T1, cal.T2, cal.T3, cal.P1, cal.P2, cal.P3, cal.P4, cal.P5, cal.P6, cal.P7, cal.P8,
        cal.P9],
      [27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000]);
    assert.equal(cal.humidity, null);
  });

  const humidityCases = [
    {
      name: 'typical, all positive',
      h1: 0x4b, bytes: [0x6a, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1e],
      // H4 = 0x13 * 16 + 9 = 313; H5 = 0x03 * 16 + 2 = 50
      expected: { H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30 },
    },
    {
      name: 'negative H4, H5, H6 and H1, H3 above 127',
      h1: 0xc8, bytes: [0x96, 0x00, 0xc8, 0xf9, 0xec, 0xfc, 0xe2],
      // H4 = -7 * 16 + 0xc = -100 (unsigned packing would give 3996);
      // H5 = -4 * 16 + 0xe = -50 (4046); H6 = 0xe2 = -30 (226)
      expected: { H1: 200, H2: 150, H3: 200, H4: -100, H5: -50, H6: -30 },
    },
    {
      name: 'negative H2',
      h1: 0xa0, bytes: [0x38, 0xff, 0x96, 0x3e, 0xc8, 0xfe, 0xc4],
      // H2 = 0xff38 = -200; H4 = 0x3e * 16 + 8 = 1000; H5 = -2 * 16 + 0xc = -20
      expected: { H1: 160, H2: -200, H3: 150, H4: 1000, H5: -20, H6: -60 },
    },
    {
      name: 'extremes of the 12-bit fields',
      h1: 0xff, bytes: [0x00, 0x80, 0xff, 0x80, 0xf0, 0x7f, 0x80],
      expected: { H1: 255, H2: -32768, H3: 255, H4: -2048, H5: 2047, H6: -128 },
    },
  ];
  for (const c of humidityCases) {
    test(`humidity: ${c.name}`, () => {
      const cal = parseCalibration(tpBlock(c.h1), Uint8Array.from(c.bytes));
      assert.deepEqual(cal.humidity, c.expected);
    });
  }

  test('short blocks are refused', () => {
    assert.throws(() => parseCalibration(new Uint8Array(10), null), RangeError);
    assert.throws(() => parseCalibration(tpBlock(0), new Uint8Array(3)), RangeError);
  });
});

describe('the simulated NVM image', () => {
  const sets = { DATASHEET_EXAMPLE, NEGATIVE_HUMIDITY, NEGATIVE_H2 };
  for (const [name, cal] of Object.entries(sets)) {
    test(`${name} parses back to itself`, () => {
      const image = encodeCalibration(cal);
      assert.deepEqual(parseCalibration(image.tp, image.h), cal);
    });
  }

  test('the negative set is laid out as the datasheet packs it', () => {
    const image = encodeCalibration(NEGATIVE_HUMIDITY);
    assert.deepEqual([...image.h], [0x96, 0x00, 0xc8, 0xf9, 0xec, 0xfc, 0xe2]);
    assert.equal(image.tp[25], 0xc8);
  });
});

describe('register fields', () => {
  test('oversampling codes', () => {
    assert.deepEqual([0, 1, 2, 4, 8, 16].map((f) => oversamplingCode(f as 0)), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(oversamplingFactor),
      [0, 1, 2, 4, 8, 16, 16, 16]);
  });

  test('filter codes', () => {
    assert.deepEqual([0, 2, 4, 8, 16].map((c) => filterCode(c as 0)), [0, 1, 2, 3, 4]);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 7].map(filterCoefficient), [0, 2, 4, 8, 16, 16, 16]);
  });

  const times = [
    { osr: [1, 1, 1], typical: 8, max: 9.3 },
    { osr: [16, 16, 16], typical: 98, max: 112.8 },
    { osr: [1, 1, 0], typical: 5.5, max: 6.425 },
    { osr: [2, 16, 1], typical: 40, max: 46.1 },
    { osr: [0, 0, 0], typical: 1, max: 1.25 },
  ];
  for (const c of times) {
    test(`measurement time at x${c.osr.join('/x')}`, () => {
      const [temperature = 0, pressure = 0, humidity = 0] = c.osr as (0 | 1)[];
      const osr = { temperature, pressure, humidity };
      assert.ok(Math.abs(measurementTime(osr, 'typical') - c.typical) < 1e-9);
      assert.ok(Math.abs(measurementTime(osr, 'max') - c.max) < 1e-9);
    });
  }
});
