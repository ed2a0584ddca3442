// Node-RED glue for the bme280-sensor node: every input message takes one reading.
// The work is done by Bme280Sensor; this file only maps it to messages, status and
// the locale texts.

import { Bme280Error } from '../src/bme280/errors';
import type { Reading } from '../src/bme280/compensation';
import { Bme280Sensor, type SensorReport } from '../src/bme280/sensor';
import { parseSettings, type SensorConfig } from '../src/bme280/settings';
import type { Node, NodeAPI, NodeDef } from './lib/red';

interface NodeConfig extends SensorConfig, NodeDef {
  name?: string;
}

export = function register(RED: NodeAPI): void {
  const text = (key: string, substitutions?: Record<string, string>): string =>
    RED._(`bme280-sensor.${key}`, substitutions);

  /** The locale's wording of an error, which names the fix. */
  function explain(error: unknown): Error {
    if (error instanceof Bme280Error) {
      const d = error.details;
      const subs: Record<string, string> = {
        bus: d.bus ?? '', address: d.address ?? '', chipId: d.chipId ?? '',
        property: d.property ?? '', allowed: d.allowed ?? '', detail: d.detail ?? '',
        other: d.other === undefined ? '' : text('errors.try-other', { other: d.other }),
      };
      const key = `errors.${error.kind}`;
      const translated = text(key, subs);
      // Without a message catalogue RED._ hands back the key; the English is better.
      const message = translated.endsWith(key) ? error.message : translated;
      return new Error(message, { cause: error });
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  function summary(reading: Reading, report: SensorReport): string {
    const parts: string[] = [];
    if (reading.temperature !== null) parts.push(`${reading.temperature.toFixed(1)} °C`);
    if (reading.humidity !== null) parts.push(`${reading.humidity.toFixed(0)} %RH`);
    if (reading.pressure !== null) parts.push(`${reading.pressure.toFixed(1)} hPa`);
    const chip = `${report.sensor.chip} ${report.sensor.address}`;
    return report.sensor.chip === 'BMP280'
      ? text('status.reading-no-humidity', { chip, values: parts.join(', ') })
      : text('status.reading', { chip, values: parts.join(', ') });
  }

  function Bme280SensorNode(this: Node, config: NodeConfig): void {
    RED.nodes.createNode(this, config);

    let sensor: Bme280Sensor | null = null;
    let settingsError: Error | null = null;
    try {
      sensor = new Bme280Sensor(parseSettings(config));
      this.status({});
    } catch (error) {
      settingsError = explain(error);
      this.status({ fill: 'red', shape: 'ring', text: text('status.settings') });
    }

    this.on('input', (msg, send, done) => {
      if (sensor === null) {
        done(settingsError ?? new Error(text('status.settings')));
        return;
      }
      sensor.read().then((report) => {
        msg.payload = report.payload;
        msg.sensor = report.sensor;
        this.status({ fill: 'green', shape: 'dot', text: summary(report.payload, report) });
        send(msg);
        done();
      }, (error: unknown) => {
        const explained = explain(error);
        const kind = error instanceof Bme280Error ? error.kind : 'io';
        this.status({ fill: 'red', shape: 'ring', text: text(`status.${kind}`) });
        done(explained);
      });
    });

    this.on('close', (_removed, done) => {
      const closing = sensor?.close() ?? Promise.resolve();
      // A bus that fails to close must not hold up the redeploy.
      closing.catch(() => undefined).then(() => done());
    });
  }

  RED.nodes.registerType('bme280-sensor', Bme280SensorNode);
};
