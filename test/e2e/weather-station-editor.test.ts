// The weather-station example the way a new user meets it, in Debian's Chromium: Menu >
// Import > Examples, the sensor, TPM and CA set in the edit dialogs, Deploy, and the hub
// node turns "connected" while readings reach the hub.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { secretsFound, startNodeRed, type NodeRed } from '../support/node-red-process';
import { checkWeatherMessage, startStand, type TestStand } from './support/stand';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
// Waiting limits only; nothing here measures time.
const WAIT_MS = 30_000;
const EXAMPLE_TYPES = ['azure-iot-hub-out', 'bme280-sensor', 'change', 'comment', 'debug',
  'debug', 'inject', 'tpm-credentials'];

interface EditorNode {
  id: string;
  type: string;
  valid?: boolean;
  bus?: string;
  tpm?: string;
  ca?: string;
}

/** The part of the editor's global `RED` the test reads; it changes nothing through it. */
interface EditorGlobal {
  RED?: {
    nodes?: {
      getType(type: string): unknown;
      filterNodes(filter: object): EditorNode[];
      eachConfig(visit: (node: EditorNode) => void): void;
    };
  };
}

interface EditorDocument {
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

describe('weather-station example imported in the editor', { timeout: 180_000 }, () => {
  let stand: TestStand;
  let nodeRed: NodeRed;
  let browser: Browser;
  let page: Page;
  let started: Date;

  /** Every node in the editor, flow and config nodes, with the fields the test checks. */
  function editorNodes(): Promise<EditorNode[]> {
    // No named helpers inside: the page does not have the compiler's __name.
    return page.evaluate(() => {
      const nodes = (globalThis as unknown as EditorGlobal).RED?.nodes;
      if (!nodes) return [];
      const found: EditorNode[] = nodes.filterNodes({});
      nodes.eachConfig((n) => { found.push(n); });
      return found.map((n) => ({ id: n.id, type: n.type, valid: n.valid, bus: n.bus,
        tpm: n.tpm, ca: n.ca }));
    });
  }

  async function idOf(type: string): Promise<string> {
    const ids = (await editorNodes()).filter((n) => n.type === type).map((n) => n.id);
    assert.equal(ids.length, 1, `expected one ${type} in the editor`);
    return ids[0] ?? '';
  }

  async function openNode(type: string): Promise<void> {
    const id = await idOf(type);
    await page.locator(`[id="${id}"] .red-ui-flow-node`).dblclick();
    await page.locator('#node-dialog-ok').waitFor({ state: 'visible', timeout: WAIT_MS });
  }

  async function closeDialog(button: string): Promise<void> {
    await page.locator(button).click();
    await page.locator(button).waitFor({ state: 'hidden', timeout: WAIT_MS });
  }

  before(async () => {
    stand = await startStand();
    started = new Date();
    nodeRed = await startNodeRed();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1700, height: 820 } }))
      .newPage();
    await page.goto(nodeRed.url);
    await page.waitForFunction(() => (globalThis as unknown as EditorGlobal).RED?.nodes
      ?.getType('azure-iot-hub-out') !== undefined, undefined, { timeout: WAIT_MS });
    await page.locator('#red-ui-header-button-deploy').waitFor({ timeout: WAIT_MS });
  });
  after(async () => {
    await browser?.close();
    await nodeRed?.destroy();
    await stand?.stop();
  });

  test('Menu > Import > Examples lists the flow and imports it, known and valid', async () => {
    await page.locator('#red-ui-header-button-sidemenu').click();
    await page.locator('#menu-item-import').click();
    await page.locator('#red-ui-clipboard-dialog-import-tabs').getByText('Examples').click();
    const examples = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
    await examples.getByText('node-red-contrib-azure-iot-tpm', { exact: true }).click();
    await examples.getByText('weather-station', { exact: true }).click();
    await closeDialog('#red-ui-clipboard-dialog-ok');
    // Imported nodes follow the mouse until a click puts them down.
    await page.mouse.move(240, 140);
    await page.mouse.click(240, 140);

    const nodes = await editorNodes();
    assert.deepEqual(nodes.map((n) => n.type).sort(), EXAMPLE_TYPES);
    assert.deepEqual(nodes.filter((n) => n.valid === false).map((n) => n.type), []);
    const shipped = nodes.find((n) => n.type === 'bme280-sensor');
    assert.equal(shipped?.bus, '1');
  });

  test('the sensor, the TPM and the CA are set through the edit dialogs', async () => {
    await openNode('bme280-sensor');
    await page.locator('#node-input-bus').fill('simulated');
    await closeDialog('#node-dialog-ok');

    await openNode('azure-iot-hub-out');
    await page.locator('#node-input-ca').fill(stand.hub.caPath);
    // The pencil beside Device opens the tpm-credentials panel.
    await page.locator('#node-input-btn-identity-edit').click();
    const tpm = page.locator('#node-config-input-tpm');
    await tpm.waitFor({ state: 'visible', timeout: WAIT_MS });
    await tpm.fill(stand.swtpm.tcti);
    await closeDialog('#node-config-dialog-ok');
    await closeDialog('#node-dialog-ok');

    const nodes = await editorNodes();
    assert.equal(nodes.find((n) => n.type === 'bme280-sensor')?.bus, 'simulated');
    assert.equal(nodes.find((n) => n.type === 'tpm-credentials')?.tpm, stand.swtpm.tcti);
    assert.equal(nodes.find((n) => n.type === 'azure-iot-hub-out')?.ca, stand.hub.caPath);
    assert.deepEqual(nodes.filter((n) => n.valid === false).map((n) => n.type), []);
  });

  test('Deploy: the hub node shows "connected" and readings reach the hub', async () => {
    await page.locator('#red-ui-header-button-deploy').click();
    const hubId = await idOf('azure-iot-hub-out');
    const status = page.locator(`[id="${hubId}"] .red-ui-flow-node-status-label`);
    await page.waitForFunction((id) => (globalThis as unknown as EditorDocument).document
      .querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent === 'connected',
    hubId, { timeout: WAIT_MS });
    assert.equal(await status.textContent(), 'connected');

    const [message] = await stand.hub.waitForMessages(1, WAIT_MS);
    assert.ok(message, 'no message reached the hub');
    assert.deepEqual(checkWeatherMessage(message, started).problems, []);

    await page.locator('#red-ui-tab-debug-link-button').click();
    await page.locator('.red-ui-debug-msg').nth(1).waitFor({ timeout: WAIT_MS });
    // For the picture: nothing selected, the notifications gone, what was sent unfolded.
    await page.mouse.click(700, 600);
    await page.locator('.red-ui-notification').first()
      .waitFor({ state: 'hidden', timeout: WAIT_MS });
    await page.locator('.red-ui-debug-msg .red-ui-debug-msg-object-handle').nth(1).click();
    // E2E_FLOW_SCREENSHOT=docs/weather-station-flow.png refreshes the picture in the docs.
    const shot = process.env['E2E_FLOW_SCREENSHOT'];
    if (shot) mkdirSync(dirname(resolve(shot)), { recursive: true });
    const png = await page.screenshot(shot ? { path: resolve(shot) } : {});
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  });

  test('nothing of the editor session holds the key or the connection string', async () => {
    await browser.close();
    await nodeRed.stop();
    assert.deepEqual(secretsFound(nodeRed, stand.secrets), []);
  });
});
