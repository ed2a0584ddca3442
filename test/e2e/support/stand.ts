// What every end-to-end test stands on: a private swtpm, the local hub, and a device
// identity stored in the TPM with the package's own CLI, as a user provisions one.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startHub, type LocalHub, type ReceivedMessage } from '../../support/hub';
import { startSwtpm, type Swtpm } from '../../support/swtpm';

export const CLI = join(__dirname, '../../../dist/src/cli/main.js');
export const DEVICE = 'weather-station-e2e';
export const SLOT = 0;

export interface TestStand {
  swtpm: Swtpm;
  hub: LocalHub;
  /** Forms of the device key and connection string that must never show up anywhere. */
  secrets: Record<string, Buffer>;
  stop(): Promise<void>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `input` on its standard input. */
export function runCli(args: string[], input = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

export async function startStand(): Promise<TestStand> {
  const swtpm = await startSwtpm();
  const hub = await startHub();
  const key = hub.addDevice(DEVICE);
  const connectionString = hub.connectionString(DEVICE);
  const raw = Buffer.from(key, 'base64');
  const secrets: Record<string, Buffer> = {
    'the key (base64)': Buffer.from(key),
    'the key (hex)': Buffer.from(raw.toString('hex')),
    'the key (raw bytes)': raw,
    'the connection string': Buffer.from(connectionString),
    'a SharedAccessKey field': Buffer.from('SharedAccessKey='),
  };
  const stop = async (): Promise<void> => {
    await hub.stop();
    await swtpm.destroy();
  };

  const provisioned = await runCli(['provision', '--tpm', swtpm.tcti, '--slot', String(SLOT),
    '-'], `${connectionString}\n`);
  const said = provisioned.stdout + provisioned.stderr;
  if (provisioned.code !== 0 || leaks(said, secrets)) {
    await stop();
    throw new Error(`provisioning failed (exit ${provisioned.code}): ` +
      (leaks(said, secrets) ? '(output withheld: it holds a secret)' : said));
  }
  return { swtpm, hub, secrets, stop };
}

export function leaks(text: string, secrets: Record<string, Buffer>): boolean {
  const bytes = Buffer.from(text, 'utf8');
  return Object.values(secrets).some((secret) => bytes.includes(secret));
}

/** The message the Windows IoT weather-station tutorial sent. */
export interface WeatherMessage {
  currentTemperature: number;
  currentHumidity: number;
  currentPressure: number;
  deviceId: string;
  time: string;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/**
 * Reads a hub message as the tutorial's, and says what is wrong with it, if anything:
 * the shape, the ranges the BME280 can measure, the device, and a time since `since`.
 */
export function checkWeatherMessage(message: ReceivedMessage, since: Date):
  { reading: WeatherMessage; problems: string[] } {
  const problems: string[] = [];
  if (message.contentType !== 'application/json') problems.push('not sent as JSON');
  if (message.deviceId !== DEVICE) problems.push(`sent as device ${message.deviceId}`);
  const reading = JSON.parse(message.body.toString('utf8')) as WeatherMessage;
  const keys = Object.keys(reading).sort().join(',');
  if (keys !== 'currentHumidity,currentPressure,currentTemperature,deviceId,time') {
    problems.push(`fields are ${keys}`);
  }
  const within = (name: keyof WeatherMessage, low: number, high: number): void => {
    const value = reading[name];
    if (typeof value !== 'number' || !(value >= low && value <= high)) {
      problems.push(`${name} ${String(value)} is outside ${low}..${high}`);
    }
  };
  within('currentTemperature', -40, 85);
  within('currentHumidity', 0, 100);
  within('currentPressure', 300, 1100);
  if (reading.deviceId !== DEVICE) problems.push(`deviceId is ${String(reading.deviceId)}`);
  const time = typeof reading.time === 'string' && ISO_UTC.test(reading.time)
    ? Date.parse(reading.time) : NaN;
  if (Number.isNaN(time)) {
    problems.push(`time ${String(reading.time)} is not ISO 8601 UTC`);
  } else if (time < since.getTime() - 1000 || time > message.receivedAt.getTime() + 1000) {
    problems.push(`time ${reading.time} is not between the start and the hub's receipt`);
  }
  return { reading, problems };
}
