// The weather-station example in a real Node-RED while the network is down, then a power
// cut (SIGKILL: no close handler runs) and a restart once the network is back: the readings
// taken offline arrive, first, in order, once each, from the TPM's device.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitingInJournals } from '../support/journal-files';
import { startNodeRed, type NodeRed } from '../support/node-red-process';
import { until } from '../support/until';
import { adaptExample, only, type FlowNode } from './support/weather-flow';
import { DEVICE, checkWeatherMessage, startStand, type TestStand } from './support/stand';

// Waiting limits only; nothing here measures time.
const WAIT_MS = 30_000;
const OFFLINE_READINGS = 3;

describe('weather station: offline, a power cut, a restart', { timeout: 180_000 }, () => {
  let stand: TestStand;
  let nodeRed: NodeRed;
  let flows: FlowNode[];
  let started: Date;

  /** Readings waiting in the out node's file, counted as the next start will read them. */
  const waitingOnDisk = (): number =>
    waitingInJournals(join(nodeRed.userDir, 'azure-iot-tpm', 'queue'));

  async function inject(): Promise<void> {
    const res = await fetch(`${nodeRed.url}/inject/${only(flows, 'inject').id}`,
      { method: 'POST' });
    assert.equal(res.status, 200, `inject answered ${res.status}`);
  }

  before(async () => {
    stand = await startStand();
    started = new Date();
    flows = adaptExample({ tpm: stand.swtpm.tcti, ca: stand.hub.caPath, everySeconds: 0 });
    assert.equal(only(flows, 'azure-iot-hub-out')['keepOnDisk'], true,
      'the example keeps waiting readings on disk');
    nodeRed = await startNodeRed({ flows });
  });
  after(async () => {
    await nodeRed?.destroy();
    await stand?.stop();
  });

  test('readings taken offline survive a power cut and arrive after the restart', async () => {
    // The example reads once at start; that one goes while the hub can be reached.
    await stand.hub.waitForMessages(1, WAIT_MS);
    await until(() => waitingOnDisk() === 0, 'the first reading leaving the file', WAIT_MS);

    stand.hub.refuseConnections();
    stand.hub.dropConnections();
    for (let i = 0; i < OFFLINE_READINGS; i++) await inject();
    await until(() => waitingOnDisk() === OFFLINE_READINGS, 'the offline readings on disk',
      WAIT_MS);
    const online = stand.hub.messages.length;

    await nodeRed.kill();
    stand.hub.refuseConnections(false);
    await nodeRed.restart();

    // The restart reads once more; the offline readings go before it.
    const wanted = online + OFFLINE_READINGS + 1;
    await stand.hub.waitForMessages(wanted, WAIT_MS).catch(() => {
      throw new Error(`${stand.hub.messages.length} of ${wanted} messages arrived; ` +
        `Node-RED log:\n${nodeRed.log()}`);
    });
    await until(() => waitingOnDisk() === 0, 'the file emptied', WAIT_MS);

    const all = stand.hub.messages;
    assert.equal(all.length, wanted, 'a reading was lost or sent twice');
    for (const message of all) {
      assert.deepEqual(checkWeatherMessage(message, started).problems, [],
        message.body.toString('utf8'));
      assert.equal(message.deviceId, DEVICE);
    }
    const times = all.map((m) => checkWeatherMessage(m, started).reading.time);
    assert.deepEqual([...times].sort(), times, 'readings arrived out of order');
    assert.equal(new Set(all.map((m) => m.messageId)).size, all.length, 'a double');
    assert.match(nodeRed.log(),
      new RegExp(`${OFFLINE_READINGS} messages kept from before the restart wait for IoT Hub`));
  });
});
