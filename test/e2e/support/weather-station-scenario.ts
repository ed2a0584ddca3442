// The weather-station example in a real Node-RED process with the package installed from
// its tarball: readings of the tutorial's shape reach the hub with TPM-signed tokens, and
// a token expiry in the middle of the run costs no message. Run on more than one Node-RED.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  secretsFound, startNodeRed, type NodeRed, type NodeRedRuntime,
} from '../../support/node-red-process';
import { adaptExample, only, type FlowNode } from './weather-flow';
import { DEVICE, checkWeatherMessage, startStand, type TestStand } from './stand';

// Waiting limits only; nothing here measures time.
const WAIT_MS = 30_000;

/**
 * `runtime` resolves to the Node-RED to run, or to undefined for the project's own. A
 * runtime that cannot be had fails the tests with its reason.
 */
export function weatherStationScenario(title: string,
  runtime: () => Promise<NodeRedRuntime | undefined>): void {
  describe(title, { timeout: 240_000 }, () => {
    let stand: TestStand;
    let nodeRed: NodeRed;
    let flows: FlowNode[];
    let started: Date;

    /** Presses the example's inject button through the admin API, as the editor does. */
    async function inject(): Promise<void> {
      const id = only(flows, 'inject').id;
      const res = await fetch(`${nodeRed.url}/inject/${id}`, { method: 'POST' });
      assert.equal(res.status, 200, `inject answered ${res.status}`);
    }

    async function injectAndWait(count: number): Promise<void> {
      const wanted = stand.hub.messages.length + count;
      for (let i = 0; i < count; i++) await inject();
      await stand.hub.waitForMessages(wanted, WAIT_MS).catch(() => {
        throw new Error(`${stand.hub.messages.length} of ${wanted} messages arrived; ` +
          `Node-RED log:\n${nodeRed.log()}`);
      });
    }

    before(async () => {
      const chosen = await runtime();
      stand = await startStand();
      started = new Date();
      // No repeat: the test clicks the inject node, so it knows how many readings to expect.
      flows = adaptExample({ tpm: stand.swtpm.tcti, ca: stand.hub.caPath, everySeconds: 0 });
      nodeRed = await startNodeRed({
        flows, ...(chosen ? { runtime: { node: chosen.node, redJs: chosen.redJs } } : {}),
      });
    });
    after(async () => {
      await nodeRed?.destroy();
      await stand?.stop();
    });

    test('the package loads from its tarball and the example deploys cleanly', async () => {
      await nodeRed.waitForLog(/Started flows/, WAIT_MS);
      // The identity is read from the TPM after the flows start, so its line comes later.
      await nodeRed.waitForLog(new RegExp(`device ${DEVICE} of localhost:\\d+ in TPM slot 0`),
        WAIT_MS);
      const log = nodeRed.log();
      assert.doesNotMatch(log, /Waiting for missing types|\[error\]/,
        `Node-RED reported a problem:\n${log}`);
      const res = await fetch(`${nodeRed.url}/nodes`, { headers: { accept: 'application/json' } });
      const modules = await res.json() as { module: string; types: string[]; err?: string }[];
      const ours = modules.filter((set) => set.module === 'node-red-contrib-azure-iot-tpm');
      assert.deepEqual(ours.flatMap((set) => set.types).sort(),
        ['azure-iot-hub-out', 'bme280-sensor', 'tpm-credentials']);
      assert.deepEqual(ours.filter((set) => set.err), []);
    });

    test('readings of the tutorial\'s shape arrive, from the TPM\'s device', async () => {
      // The example reads once at start; two more readings by hand.
      await stand.hub.waitForMessages(1, WAIT_MS);
      await injectAndWait(2);
      const messages = stand.hub.messages;
      assert.ok(messages.length >= 3, `only ${messages.length} messages arrived`);
      for (const message of messages) {
        const { problems } = checkWeatherMessage(message, started);
        assert.deepEqual(problems, [], message.body.toString('utf8'));
      }
      const accepted = stand.hub.putTokens.filter((put) => put.accepted);
      assert.ok(accepted.length >= 1, 'the hub never accepted a token');
      assert.ok(accepted.every((put) => put.deviceId === DEVICE));
      assert.deepEqual(stand.hub.putTokens.filter((put) => !put.accepted), []);
    });

    test('tokens expiring in the middle of the run cost no reading', async () => {
      const before = stand.hub.messages.length;
      const rejectedBefore = stand.hub.rejections.length;
      const tokensBefore = stand.hub.putTokens.filter((put) => put.accepted).length;
      stand.hub.expireTokensNow();
      await injectAndWait(3);

      const after = stand.hub.messages.slice(before);
      assert.equal(after.length, 3, 'a reading was lost or sent twice');
      // The expiry did bite: a message was refused, a new token was put, and the refused
      // message went again.
      assert.ok(stand.hub.rejections.length > rejectedBefore, 'no message was refused');
      assert.ok(stand.hub.putTokens.filter((put) => put.accepted).length > tokensBefore,
        'no new token was put');
      const times = after.map((m) => checkWeatherMessage(m, started).reading.time);
      assert.equal(new Set(times).size, 3, 'the same reading arrived twice');
      assert.deepEqual([...times].sort(), times, 'readings arrived out of order');
      assert.doesNotMatch(nodeRed.log(), /\[error\]/);
    });

    test('no file of Node-RED and not its log holds the key or the string', async () => {
      await nodeRed.stop();
      assert.match(nodeRed.log(), /Stopped flows/);
      assert.deepEqual(secretsFound(nodeRed, stand.secrets), []);
    });
  });
}
