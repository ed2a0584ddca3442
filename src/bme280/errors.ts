// One error type for everything that can go wrong between the node and the sensor. The
// kind selects a message that names the fix; the node turns it into its locale text.

export type Bme280ErrorKind =
  | 'no-driver'    // i2c-bus missing or not built for this platform
  | 'no-bus'       // /dev/i2c-N does not exist
  | 'permission'   // /dev/i2c-N exists but the user may not open it
  | 'no-device'    // nothing acknowledges at the address
  | 'wrong-chip'   // something answers, but it is not a BME280 or BMP280
  | 'device-lost'  // the sensor answered before and stopped answering
  | 'timeout'      // the sensor kept a busy bit set past the datasheet's limit
  | 'io'           // any other bus failure
  | 'settings';    // a property of the node is out of range

export interface Bme280ErrorDetails {
  /** Where the sensor should be, e.g. "/dev/i2c-1" or "the simulated bus". */
  bus?: string;
  /** "0x76", "0x77" or "0x76 or 0x77" */
  address?: string;
  /** The other address to try, for no-device. */
  other?: string;
  /** For wrong-chip: the id read, e.g. "0x61". */
  chipId?: string;
  /** For settings: the property and what it accepts. */
  property?: string;
  allowed?: string;
  /** Free text from the underlying error, for io and timeout. */
  detail?: string;
}

const MESSAGES: Record<Bme280ErrorKind, (d: Bme280ErrorDetails) => string> = {
  'no-driver': () =>
    'the i2c-bus package is not installed or was not built for this platform; ' +
    'run "npm install i2c-bus" in the Node-RED user directory, or use the simulated bus',
  'no-bus': (d) =>
    `no I2C bus ${d.bus}; enable I2C (raspi-config) or choose the bus the sensor is on`,
  'permission': (d) =>
    `no permission to open ${d.bus}; add the Node-RED user to the group i2c`,
  'no-device': (d) =>
    `no BME280 at ${d.address} on ${d.bus}; check wiring` +
    (d.other === undefined ? '' : ` or try ${d.other}`),
  'wrong-chip': (d) =>
    `the chip at ${d.address} on ${d.bus} has id ${d.chipId}, not a BME280 (0x60) ` +
    'or BMP280 (0x58); check the address',
  'device-lost': (d) =>
    `the sensor at ${d.address} on ${d.bus} stopped answering; check wiring and power`,
  'timeout': (d) =>
    `the sensor at ${d.address} on ${d.bus} stayed busy (${d.detail}); check its power supply`,
  'io': (d) => `I2C error on ${d.bus}: ${d.detail}`,
  'settings': (d) => `${d.property} must be ${d.allowed}`,
};

export class Bme280Error extends Error {
  override readonly name = 'Bme280Error';

  constructor(
    readonly kind: Bme280ErrorKind,
    readonly details: Bme280ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(MESSAGES[kind](details), options);
  }
}

/** Fields that i2c-bus and fs errors carry. */
export interface SystemError {
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as SystemError).code;
  return typeof code === 'string' ? code : undefined;
}

/** Adapters report a missing acknowledge differently: the Raspberry Pi's with
 *  EREMOTEIO, others with ENXIO or EIO. */
const NO_ACK_CODES = new Set(['EREMOTEIO', 'ENXIO', 'EIO']);

export function isNoAcknowledge(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && NO_ACK_CODES.has(code);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Maps a failure of the bus to a Bme280Error. `answered` tells whether the sensor
 * had answered before, which turns a missing acknowledge into device-lost.
 */
export function classifyBusError(
  error: unknown,
  where: { bus: string; address: string; other?: string },
  answered: boolean,
): Bme280Error {
  if (error instanceof Bme280Error) return error;
  const code = errorCode(error);
  const cause = { cause: error };
  if (code === 'ENOENT') return new Bme280Error('no-bus', where, cause);
  if (code === 'EACCES' || code === 'EPERM') return new Bme280Error('permission', where, cause);
  if (isNoAcknowledge(error)) {
    return new Bme280Error(answered ? 'device-lost' : 'no-device', where, cause);
  }
  return new Bme280Error('io', { ...where, detail: describe(error) }, cause);
}
