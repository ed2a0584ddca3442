// Messages through a Node-RED flow into azure-iot-hub-out, against the Azure SDK's own
// sendEvent on the same local hub with the same device key, in one run; TPM commands per
// 10,000 messages, deploy to first acceptance, and a real Node-RED's resident memory.
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { NoRetry, Message } from 'azure-iot-common';
import { Client } from 'azure-iot-device';
import { Amqp } from 'azure-iot-device-amqp';
import { TpmIdentity, withStore } from '../src/identity';
import { HubClient, buildMessage } from '../src/iothub';
import { startHub, type LocalHub } from '../test/support/hub';
import { builtNode, helper, type FlowNode } from '../test/support/node-red';
import { startNodeRed } from '../test/support/node-red-process';
import { startSwtpm } from '../test/support/swtpm';
import { TpmFaultProxy } from '../test/support/tpm-proxy';
import { median, table } from './support/stats';
import { until, wait } from '../test/support/until';

const N = 2000;
const ROUNDS = 3;
const DEVICE = 'bench-device';
// Polling finely enough not to add to a measured time; the limit only bounds a hang.
const STEP_MS = 2;
const LIMIT_MS = 60_000;

interface InputNode extends EventEmitter {
  receive(msg: { payload: unknown }): void;
}

function flow(tcti: string, caPath: string): FlowNode[] {
  return [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'creds', type: 'tpm-credentials', tpm: tcti, slot: '0', tokenTtl: '3600' },
    { id: 'out', type: 'azure-iot-hub-out', z: 'tab', x: 100, y: 100, identity: 'creds',
      transport: 'amqp', queueSize: String(N), ca: caPath, wires: [['delivered']] },
    { id: 'delivered', type: 'helper', z: 'tab', x: 300, y: 100 },
  ];
}

/** Node-RED in this process, through the test helper: the real runtime and our node. */
async function throughNodeRed(hub: LocalHub, proxy: TpmFaultProxy) {
  const nodes = [builtNode('tpm-credentials'), builtNode('azure-iot-hub-out')];
  await helper.startServer();
  let delivered = 0;
  const watch = (): InputNode => {
    delivered = 0;
    (helper.getNode('delivered') as InputNode).on('input', () => { delivered++; });
    return helper.getNode('out') as InputNode;
  };

  // Deploy to the first accepted message: TPM identity and token, TLS, CBS, link attach.
  const firstMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    await helper.load(nodes, flow(proxy.tcti, hub.caPath));
    watch().receive({ payload: { first: i } });
    await until(() => delivered === 1, 'the first message', LIMIT_MS, STEP_MS);
    firstMs.push(performance.now() - start);
    await helper.unload();
  }

  const commandsBefore = proxy.commands.length;
  await helper.load(nodes, flow(proxy.tcti, hub.caPath));
  const out = watch();
  out.receive({ payload: 'warm-up' });
  await until(() => delivered === 1, 'the warm-up', LIMIT_MS, STEP_MS);
  const rates: number[] = [];
  let sent = 1;
  for (let round = 0; round < ROUNDS; round++) {
    const target = delivered + N;
    const start = performance.now();
    for (let i = 0; i < N; i++) out.receive({ payload: { round, i, temperature: 21.5 } });
    await until(() => delivered === target, 'every message', LIMIT_MS, STEP_MS);
    rates.push(N / ((performance.now() - start) / 1000));
    sent += N;
  }
  // Up to 10,000 messages on one deployed flow, to count the TPM's share.
  // In batches that fit the queue (queueSize N).
  while (sent < 10_000) {
    const batch = Math.min(N, 10_000 - sent);
    const target = delivered + batch;
    for (let i = 0; i < batch; i++) out.receive({ payload: { i } });
    await until(() => delivered === target, 'the rest of 10,000', LIMIT_MS, STEP_MS);
    sent += batch;
  }
  await helper.unload();
  const tpmCommands = proxy.commands.length - commandsBefore;
  await helper.stopServer();
  return { rate: median(rates), firstMs: median(firstMs), tpmCommands };
}

/** The SDK's own client with the key in memory: sequential, then 10 in flight. */
async function throughSdk(hub: LocalHub) {
  const client = Client.fromConnectionString(hub.connectionString(DEVICE), Amqp);
  client.setRetryPolicy(new NoRetry());
  await client.setOptions({ ca: hub.caPem });
  await client.open();
  const event = (i: number): Message =>
    new Message(JSON.stringify({ i, temperature: 21.5 }));
  await client.sendEvent(event(-1));

  const sequential: number[] = [];
  const parallel: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let start = performance.now();
    for (let i = 0; i < N; i++) await client.sendEvent(event(i));
    sequential.push(N / ((performance.now() - start) / 1000));

    start = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < N) await client.sendEvent(event(next++));
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    parallel.push(N / ((performance.now() - start) / 1000));
  }
  await client.close();
  return { sequential: median(sequential), parallel: median(parallel) };
}

/** Our HubClient without Node-RED: what the runtime adds, and what the client adds. */
async function throughHubClient(hub: LocalHub, tcti: string): Promise<number> {
  const identity = new TpmIdentity({ tpm: tcti, slot: 0, tokenTtl: 3600 });
  const client = new HubClient({ source: identity, ca: hub.caPem, queueSize: N });
  try {
    await client.send(buildMessage({ payload: 'warm-up' }));
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      await Promise.all(Array.from({ length: N }, (_, i) =>
        client.send(buildMessage({ payload: { round, i, temperature: 21.5 } }))));
      rates.push(N / ((performance.now() - start) / 1000));
    }
    return median(rates);
  } finally {
    await client.close();
    await identity.close();
  }
}

function residentKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** A real Node-RED, idle and then with the flow deployed and sending once a second. */
async function memory(hub: LocalHub, tcti: string) {
  const nodeRed = await startNodeRed({ install: 'symlink' });
  try {
    await wait(3000);
    const idle = residentKb(nodeRed.pid);
    const before = hub.messages.length;
    const res = await fetch(`${nodeRed.url}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify([
        ...flow(tcti, hub.caPath).filter((n) => n.type !== 'helper')
          .map((n) => (n.id === 'out' ? { ...n, wires: [[]] } : n)),
        { id: 'tick', type: 'inject', z: 'tab', x: 50, y: 100, once: true, onceDelay: 0.1,
          repeat: '1', payload: '{"temperature":21.5}', payloadType: 'json', topic: '',
          props: [{ p: 'payload' }], wires: [['out']] },
      ]),
    });
    if (res.status !== 204 && res.status !== 200) throw new Error(`deploy: HTTP ${res.status}`);
    await until(() => hub.messages.length - before >= 3, 'messages from Node-RED',
      30_000, STEP_MS);
    return { idle, deployed: residentKb(nodeRed.pid) };
  } finally {
    await nodeRed.destroy();
  }
}

async function main(): Promise<void> {
  const swtpm = await startSwtpm();
  const hub = await startHub();
  const proxy = new TpmFaultProxy(swtpm.port);
  try {
    hub.addDevice(DEVICE);
    await withStore(swtpm.tcti, (store) => store.provision(0, hub.connectionString(DEVICE)));
    await proxy.start();

    const red = await throughNodeRed(hub, proxy);
    const sdk = await throughSdk(hub);
    const hubClient = await throughHubClient(hub, swtpm.tcti);
    // swtpm serves one client at a time: the helper's flow has let go of it by now.
    const rss = await memory(hub, swtpm.tcti);

    const perSecond = (v: number): string => `${Math.round(v)} msg/s`;
    const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
    console.log(table(['measure', 'ours', 'SDK sendEvent', 'ratio'], [
      ['throughput vs sequential', perSecond(red.rate), perSecond(sdk.sequential),
        `${(red.rate / sdk.sequential).toFixed(2)}x`],
      ['throughput vs 10 in flight', perSecond(red.rate), perSecond(sdk.parallel),
        `${(red.rate / sdk.parallel).toFixed(2)}x`],
      ['HubClient alone vs 10 in flight', perSecond(hubClient), perSecond(sdk.parallel),
        `${(hubClient / sdk.parallel).toFixed(2)}x`],
      ['TPM commands per 10,000 messages', String(red.tpmCommands), '0 (key in memory)', '-'],
      ['deploy to first accepted message', `${red.firstMs.toFixed(0)} ms`, '-', '-'],
      ['Node-RED RSS idle / deployed', `${mb(rss.idle)} / ${mb(rss.deployed)}`,
        '-', `+${mb(rss.deployed - rss.idle)}`],
    ]));
    console.log(`\nMedians of ${ROUNDS} rounds of ${N} messages (throughput) and of 5 deploys ` +
      '(first message). HubClient and the node keep at most 32 messages in flight. TPM ' +
      'commands are counted from deploy on, identity read included.');
  } finally {
    await proxy.stop();
    await hub.stop();
    await swtpm.destroy();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
