// The tpm-credentials editor panel in Debian's Chromium against a real Node-RED: a pasted
// connection string goes into the TPM and nowhere else.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { secretsFound, startNodeRed, type NodeRed } from '../support/node-red-process';
import { setOwnerPassword } from '../support/owner-password';
import { startSwtpm, type Swtpm } from '../support/swtpm';

const KEY = 'YnJvd3Nlci1wYW5lbC10ZXN0LWtleS1ub3QtZm9yLXVzZQ==';
const HOST = 'panel-hub.azure-devices.net';
const DEVICE = 'panel-device';
const CS = `HostName=${HOST};DeviceId=${DEVICE};SharedAccessKey=${KEY}`;
const MALFORMED = `HostName=${HOST};DeviceId=;SharedAccessKey=${KEY}`;
const SLOT = '4';
const OTHER_SLOT = '5';

const raw = Buffer.from(KEY, 'base64');
const SECRETS: Record<string, Buffer> = {
  'the key (base64)': Buffer.from(KEY),
  'the key (base64url)': Buffer.from(raw.toString('base64url')),
  'the key (hex)': Buffer.from(raw.toString('hex')),
  'the key (HEX)': Buffer.from(raw.toString('hex').toUpperCase()),
  'the key (raw bytes)': raw,
  'the key (raw bytes as latin1 in UTF-8)': Buffer.from(raw.toString('latin1'), 'utf8'),
  'the connection string': Buffer.from(CS),
  'the malformed connection string': Buffer.from(MALFORMED),
  'a SharedAccessKey field': Buffer.from('SharedAccessKey='),
};

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const CLI = join(__dirname, '../../dist/src/cli/main.js');
// Waiting limits only; nothing here measures time.
const WAIT_MS = 30_000;

/** The part of the editor's global `RED` that the test reaches for. */
interface EditorGlobal {
  RED?: {
    nodes?: { getType(type: string): unknown };
    editor: { editConfig(name: string, type: string, id: string): void };
  };
  navigator: { clipboard: { writeText(text: string): Promise<void> } };
}

interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(...args: string[]): Promise<Cli> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

function hasSecret(text: string): boolean {
  return Object.values(SECRETS).some((secret) => Buffer.from(text).includes(secret));
}

/** Polls `read` until `ok`; a failure shows what was last seen, unless it holds a secret. */
async function eventually(read: () => Promise<string>, ok: (seen: string) => boolean,
  what: string): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  let seen = '';
  while (Date.now() < deadline) {
    seen = await read();
    if (ok(seen)) return seen;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}; last seen: ${hasSecret(seen) ? '(withheld: holds a secret)' : seen}`);
}

describe('tpm-credentials editor panel in Chromium', () => {
  let swtpm: Swtpm;
  let nodeRed: NodeRed;
  let browser: Browser;
  let page: Page;
  let diag: Locator;
  let result: Locator;
  let deviceId: Locator;
  let hub: Locator;
  let secret: Locator;

  before(async () => {
    swtpm = await startSwtpm();
    nodeRed = await startNodeRed();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'],
      { origin: nodeRed.url });
    page = await context.newPage();
    diag = page.locator('#tpm-credentials-diag');
    result = page.locator('#tpm-credentials-result');
    deviceId = page.locator('#tpm-credentials-device-id');
    hub = page.locator('#tpm-credentials-host');
    secret = page.locator('#tpm-credentials-connection-string');

    await page.goto(nodeRed.url);
    await page.waitForFunction(() => (globalThis as unknown as EditorGlobal).RED?.nodes
      ?.getType('tpm-credentials') !== undefined, undefined, { timeout: WAIT_MS });
    await page.locator('#red-ui-header-button-deploy').waitFor({ timeout: WAIT_MS });
  });
  after(async () => {
    await browser?.close();
    await nodeRed?.destroy();
    await swtpm?.destroy();
  });

  /**
   * Opens the panel for a new tpm-credentials node, as the pencil beside a config field
   * does; no node in the palette uses one yet. Everything after this is clicks and keys.
   */
  async function openNewPanel(): Promise<void> {
    await page.evaluate(() => (globalThis as unknown as EditorGlobal).RED?.editor
      .editConfig('', 'tpm-credentials', '_ADD_'));
    const tpm = page.locator('#node-config-input-tpm');
    await tpm.waitFor({ state: 'visible', timeout: WAIT_MS });
    const slot = page.locator('#node-config-input-slot');
    assert.equal(await slot.inputValue(), '0', 'a new node starts on slot 0');
    await tpm.click();
    await tpm.pressSequentially(swtpm.tcti);
    await slot.selectOption(SLOT);
    await eventually(() => diag.innerText(), (text) => text.includes(`Slot ${SLOT} is empty`),
      'the panel never showed the empty slot');
  }

  async function paste(text: string): Promise<void> {
    await page.evaluate((value) => (globalThis as unknown as EditorGlobal).navigator.clipboard
      .writeText(value), text);
    await secret.click();
    await page.keyboard.press('Control+V');
  }

  test('a malformed connection string shows the reason, and the TPM is untouched', async () => {
    const before = await runCli('info', '--tpm', swtpm.tcti);
    assert.equal(before.code, 0, before.stderr);
    await openNewPanel();

    await paste(MALFORMED);
    await page.locator('#tpm-credentials-store').click();
    const text = await eventually(() => result.innerText(), (seen) => /invalid/.test(seen),
      'the panel never showed why the string was refused');
    assert.equal(text.trim(), 'invalid connection string: DeviceId is empty');
    assert.equal(await result.getAttribute('data-state'), 'error');
    assert.equal(await deviceId.inputValue(), '');

    const afterwards = await runCli('info', '--tpm', swtpm.tcti);
    assert.equal(afterwards.code, 0, afterwards.stderr);
    assert.equal(afterwards.stdout, before.stdout);
    assert.match(afterwards.stdout, new RegExp(`^ {2}${SLOT} {2}empty$`, 'm'));

    await page.locator('#node-config-dialog-cancel').click();
    await secret.waitFor({ state: 'detached', timeout: WAIT_MS });
  });

  test('an owner password on the TPM: the panel warns, and Store names the fix', async () => {
    const locked = await startSwtpm();
    try {
      await setOwnerPassword(locked.tcti, 'set-by-an-administrator');
      await page.evaluate(() => (globalThis as unknown as EditorGlobal).RED?.editor
        .editConfig('', 'tpm-credentials', '_ADD_'));
      const tpm = page.locator('#node-config-input-tpm');
      await tpm.waitFor({ state: 'visible', timeout: WAIT_MS });
      await tpm.click();
      await tpm.pressSequentially(locked.tcti);
      await eventually(() => diag.innerText(),
        (seen) => seen.includes(`${locked.port}`) && seen.includes('owner hierarchy has a'),
        'the panel never warned about the owner password');
      assert.equal(await diag.getAttribute('data-state'), 'warn');

      await paste(CS);
      await page.locator('#tpm-credentials-store').click();
      const text = await eventually(() => result.innerText(), (seen) => /BAD_AUTH/.test(seen),
        'the panel never showed why storing failed');
      assert.match(text, /owner hierarchy has a password.*tpm2_changeauth -c owner/);
      assert.equal(await result.getAttribute('data-state'), 'error');
      assert.equal(await deviceId.inputValue(), '');
      assert.ok(!hasSecret(text));

      await page.locator('#node-config-dialog-cancel').click();
      await secret.waitFor({ state: 'detached', timeout: WAIT_MS });
    } finally {
      await locked.destroy();
    }
  });

  test('a pasted connection string is stored; the panel shows the identity', async () => {
    await openNewPanel();
    await page.locator('#node-config-input-name').fill('weather station');
    await paste(CS);
    await page.locator('#tpm-credentials-store').click();

    await eventually(() => deviceId.inputValue(), (seen) => seen === DEVICE,
      'the device id never appeared');
    assert.equal(await hub.inputValue(), HOST);
    assert.equal(await secret.inputValue(), '');
    assert.equal(await result.getAttribute('data-state'), 'ok');
    assert.match(await result.innerText(), /Stored\. The key is in the TPM/);

    // Away to an empty slot and back: what shows now was read from the TPM.
    const slot = page.locator('#node-config-input-slot');
    await slot.selectOption(OTHER_SLOT);
    await eventually(() => diag.innerText(), (seen) => seen.includes(`Slot ${OTHER_SLOT} is`),
      'the other slot was never shown');
    assert.equal(await deviceId.inputValue(), '');
    await slot.selectOption(SLOT);
    await eventually(() => diag.innerText(), (seen) => seen.includes(`Slot ${SLOT} holds`),
      'the stored slot was never shown');
    assert.equal(await deviceId.inputValue(), DEVICE);
    assert.equal(await hub.inputValue(), HOST);
    assert.equal(await secret.inputValue(), '');
    assert.ok(!hasSecret(await page.locator('.red-ui-tray').last().innerText()));

    // TPM_PANEL_SCREENSHOT=docs/tpm-credentials-panel.png refreshes the picture in the docs.
    const shot = process.env['TPM_PANEL_SCREENSHOT'];
    if (shot) mkdirSync(dirname(resolve(shot)), { recursive: true });
    const png = await page.locator('.red-ui-tray').last().screenshot(
      shot ? { path: resolve(shot) } : {});
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  });

  test('Add and Deploy: the runtime reads the identity from the TPM', async () => {
    await page.locator('#node-config-dialog-ok').click();
    await secret.waitFor({ state: 'detached', timeout: WAIT_MS });
    await page.locator('#red-ui-header-button-deploy').click();
    await nodeRed.waitForLog(
      new RegExp(`device ${DEVICE} of ${HOST.replace(/\./g, '\\.')} in TPM slot ${SLOT}`),
      WAIT_MS);

    const res = await fetch(`${nodeRed.url}/flows`);
    assert.equal(res.status, 200);
    const flows = await res.text();
    assert.ok(!hasSecret(flows), 'a secret is in the deployed flows');
    const nodes = JSON.parse(flows) as Record<string, unknown>[];
    const config = nodes.filter((node) => node['type'] === 'tpm-credentials');
    assert.equal(config.length, 1);
    const deployed = { ...config[0] };
    assert.equal(typeof deployed['id'], 'string');
    delete deployed['id'];
    assert.deepEqual(deployed, { type: 'tpm-credentials', name: 'weather station',
      tpm: swtpm.tcti, slot: SLOT, tokenTtl: 3600 });
  });

  test('no file of Node-RED and not its log holds the key or the string', async () => {
    await browser.close();
    // Stopped first: swtpm serves one client, and Node-RED holds it while the node is up.
    await nodeRed.stop();
    assert.match(nodeRed.log(), /Stopped flows/);
    assert.deepEqual(secretsFound(nodeRed, SECRETS), []);

    const shown = await runCli('show', '--tpm', swtpm.tcti, '--slot', SLOT, '--json');
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(JSON.parse(shown.stdout),
      { slot: Number(SLOT), state: 'provisioned', hostName: HOST, deviceId: DEVICE });
    assert.ok(!hasSecret(shown.stdout + shown.stderr));
  });
});
