// Messages through a real Node-RED process into azure-iot-hub-out, against a plain script
// calling the Azure SDK's own sendEvent with the same device key, on the same local hub in
// one run. Every sender is a process of its own, as it would be on a device, and the hub
// runs in this one. Also: TPM commands per 10,000 messages, deploy to first acceptance,
// Node-RED's resident memory idle, deployed and after 10,000 messages, and its heap after
// a full garbage collection, which tells kept memory from the allocator's high-water mark.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { text } from 'node:stream/consumers';
import { withStore } from '../src/identity';
import { startHub, type LocalHub } from '../test/support/hub';
import type { FlowNode } from '../test/support/node-red';
import { startNodeRed, type NodeRed } from '../test/support/node-red-process';
import { startSwtpm } from '../test/support/swtpm';
import { TpmFaultProxy } from '../test/support/tpm-proxy';
import { until, wait } from '../test/support/until';
import { median, table } from './support/stats';
import type { SenderRates, SenderSettings } from './support/sender';

const N = 2000;
// 1 + (N - 1) + ROUNDS * N = the 10,000 messages the TPM's share is counted over.
const ROUNDS = 4;
const DEPLOYS = 5;
// Bursts of N between two heap readings of HubClient alone.
const HEAP_ROUNDS = 20;
// Uncounted bursts before the counted ones: about as many messages as Node-RED has
// handled before its own paired rounds, so that every sender is measured warm.
const WARMUP_ROUNDS = 25;
const DEVICE = 'bench-device';
// Polling finely enough not to add to a measured time; the limit only bounds a hang.
const STEP_MS = 2;
const LIMIT_MS = 60_000;

/**
 * Buttons into one function node that sends `msg.payload` readings at once, as a flow
 * that catches up on a backlog would, into the out node. The out node's output is left
 * unwired, so nothing but our node handles the messages after the function node.
 */
function flow(tcti: string, caPath: string, keepOnDisk = false): FlowNode[] {
  const button = (id: string, count: number, y: number): FlowNode => ({
    id, type: 'inject', z: 'tab', x: 100, y, name: `${count}`, props: [{ p: 'payload' }],
    payload: String(count), payloadType: 'num', repeat: '', once: false, topic: '',
    wires: [['burst']],
  });
  return [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'creds', type: 'tpm-credentials', tpm: tcti, slot: '0', tokenTtl: '3600' },
    button('one', 1, 60),
    button('rest', N - 1, 120),
    button('many', N, 180),
    { id: 'burst', type: 'function', z: 'tab', x: 300, y: 100, outputs: 1, wires: [['out']],
      func: 'for (let i = 0; i < msg.payload; i++) {\n' +
        '  node.send({ payload: { i, temperature: 21.5 } });\n}\nreturn null;' },
    { id: 'out', type: 'azure-iot-hub-out', z: 'tab', x: 500, y: 100, identity: 'creds',
      transport: 'amqp', queueSize: String(N), ca: caPath, keepOnDisk, wires: [[]] },
  ];
}

function residentKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/**
 * Node-RED's V8 heap after a full garbage collection, in kB, from the socket of
 * bench/support/heap-probe.cjs.
 */
async function heapAfterGcKb(socketPath: string): Promise<number> {
  const socket = connect(socketPath);
  const usage = JSON.parse(await text(socket)) as { heapUsed?: unknown };
  if (typeof usage.heapUsed !== 'number') throw new Error('the heap reading had no heapUsed');
  return Math.round(usage.heapUsed / 1024);
}

/** POSTs to the admin API; a 404 is retried while `retry404` is true. */
async function post(nodeRed: NodeRed, path: string, body?: unknown,
  retry404 = false): Promise<void> {
  for (;;) {
    const res = await fetch(`${nodeRed.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status === 200 || res.status === 204) return;
    if (res.status !== 404 || !retry404) throw new Error(`${path}: HTTP ${res.status}`);
    await wait(STEP_MS);
  }
}

/** A real Node-RED with this package: deploys, throughput, TPM commands and memory. */
async function throughNodeRed(hub: LocalHub, proxy: TpmFaultProxy) {
  const probe = join(__dirname, 'support/heap-probe.cjs');
  const heapSocket = join(tmpdir(), `node-red-heap-${process.pid}.sock`);
  const nodeRed = await startNodeRed({ install: 'symlink',
    nodeArgs: ['--expose-gc', '--require', probe], env: { HEAP_PROBE_SOCKET: heapSocket } });
  const arrived = (): number => hub.messages.length;
  // Right after a deploy the answer to the deploy can come before the nodes exist.
  const press = async (button: 'one' | 'rest' | 'many', count: number, what: string,
    justDeployed = false): Promise<void> => {
    const target = arrived() + count;
    await post(nodeRed, `/inject/${button}`, undefined, justDeployed);
    await until(() => arrived() >= target, what, LIMIT_MS, STEP_MS);
  };
  try {
    await wait(3000);
    const idleKb = residentKb(nodeRed.pid);

    // Deploy to the first accepted message: flows started, TPM identity and token, TLS,
    // CBS, link attach. Each full deploy closes the last connection and opens a new one.
    const firstMs: number[] = [];
    let commandsBefore = 0;
    for (let i = 0; i < DEPLOYS; i++) {
      commandsBefore = proxy.commands.length;
      const start = performance.now();
      await post(nodeRed, '/flows', flow(proxy.tcti, hub.caPath));
      await press('one', 1, 'the first message', true);
      firstMs.push(performance.now() - start);
    }
    const deployedKb = residentKb(nodeRed.pid);
    const deployedHeapKb = await heapAfterGcKb(heapSocket);

    // A warm-up burst makes 2,000 with the first message; the timed rounds make 10,000
    // since the last deploy, over which the TPM's share is counted.
    await press('rest', N - 1, 'the warm-up');
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      await press('many', N, `round ${round}`);
      rates.push(N / ((performance.now() - start) / 1000));
    }
    const tpmCommands = proxy.commands.length - commandsBefore;
    await wait(1000);
    const afterKb = residentKb(nodeRed.pid);
    const afterHeapKb = await heapAfterGcKb(heapSocket);

    // As many again as HubClient alone gets below: memory kept per message would show.
    for (let round = 0; round < HEAP_ROUNDS; round++) {
      await press('many', N, `heap round ${round}`);
    }
    const laterHeapKb = await heapAfterGcKb(heapSocket);

    // On disk against in memory, in pairs of rounds taken one right after the other, so
    // that neither gains from coming later (a warmer JIT, a fuller heap).
    const paired = { memory: [] as number[], disk: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const onDisk of [false, true]) {
        await post(nodeRed, '/flows', flow(proxy.tcti, hub.caPath, onDisk));
        await press('one', 1, 'the first message', true);
        await press('rest', N - 1, 'the warm-up');
        const start = performance.now();
        await press('many', N, `paired round ${round}`);
        paired[onDisk ? 'disk' : 'memory'].push(N / ((performance.now() - start) / 1000));
      }
    }
    return { coldRate: median(rates), memoryRate: median(paired.memory),
      diskRate: median(paired.disk), firstMs: median(firstMs), tpmCommands, idleKb,
      deployedKb, afterKb, heap: [deployedHeapKb, afterHeapKb, laterHeapKb] as const };
  } finally {
    await nodeRed.destroy();
    rmSync(heapSocket, { force: true });
  }
}

/** Runs bench/support/sender.ts in a process of its own. */
async function sender(settings: SenderSettings): Promise<SenderRates> {
  const child = spawn(process.execPath,
    ['--expose-gc', '--import', 'tsx', join(__dirname, 'support/sender.ts')],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify(settings));
  const [output, code] = await Promise.all([
    text(child.stdout),
    new Promise<number | null>((resolve) => child.on('exit', resolve)),
  ]);
  if (code !== 0) throw new Error(`the ${settings.peer} sender exited with ${code}`);
  return JSON.parse(output) as SenderRates;
}

const rateOf = (rates: SenderRates, mode: string): number => median(rates[mode] ?? []);

async function main(): Promise<void> {
  const swtpm = await startSwtpm();
  const hub = await startHub();
  const proxy = new TpmFaultProxy(swtpm.port);
  try {
    hub.addDevice(DEVICE);
    await withStore(swtpm.tcti, (store) => store.provision(0, hub.connectionString(DEVICE)));
    await proxy.start();

    const common = { caPem: hub.caPem, messages: N, rounds: ROUNDS,
      warmupRounds: WARMUP_ROUNDS };
    const red = await throughNodeRed(hub, proxy);
    const sdk = await sender({ ...common, peer: 'sdk',
      connectionString: hub.connectionString(DEVICE) });
    // swtpm serves one client at a time: Node-RED has let go of it by now.
    const ours = await sender({ ...common, peer: 'hub-client', tcti: swtpm.tcti,
      heapRounds: HEAP_ROUNDS });

    const sequential = rateOf(sdk, 'sequential');
    const parallel = rateOf(sdk, 'parallel');
    const hubClient = rateOf(ours, 'queued');
    const [heapBefore = Number.NaN, heapAfter = Number.NaN] = ours['heapKb'] ?? [];
    const perSecond = (v: number): string => `${Math.round(v)} msg/s`;
    const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
    const signedMb = (kb: number): string => `${kb >= 0 ? '+' : ''}${mb(kb)}`;
    const more = (HEAP_ROUNDS * N).toLocaleString('en-US');
    console.log(table(['measure', 'ours', 'SDK sendEvent', 'ratio'], [
      ['throughput vs sequential', perSecond(red.memoryRate), perSecond(sequential),
        `${(red.memoryRate / sequential).toFixed(2)}x`],
      ['throughput vs 10 in flight', perSecond(red.memoryRate), perSecond(parallel),
        `${(red.memoryRate / parallel).toFixed(2)}x`],
      ['On disk vs sequential', perSecond(red.diskRate), perSecond(sequential),
        `${(red.diskRate / sequential).toFixed(2)}x`],
      ['On disk vs in memory, paired rounds (ours both)',
        `${perSecond(red.diskRate)} / ${perSecond(red.memoryRate)}`, '-',
        `${(red.diskRate / red.memoryRate).toFixed(2)}x`],
      ['Node-RED just deployed (first 10,000 messages)', perSecond(red.coldRate), '-', '-'],
      ['HubClient alone vs 10 in flight', perSecond(hubClient), perSecond(parallel),
        `${(hubClient / parallel).toFixed(2)}x`],
      ['TPM commands per 10,000 messages', String(red.tpmCommands), '0 (key in memory)', '-'],
      ['deploy to first accepted message', `${red.firstMs.toFixed(0)} ms`, '-', '-'],
      ['Node-RED RSS idle / deployed', `${mb(red.idleKb)} / ${mb(red.deployedKb)}`,
        '-', `+${mb(red.deployedKb - red.idleKb)}`],
      ['Node-RED RSS after 10,000 messages', mb(red.afterKb), '-',
        `+${mb(red.afterKb - red.idleKb)}`],
      [`Node-RED heap after GC: deployed / 10,000 / ${more} more`,
        red.heap.map(mb).join(' / '), '-', signedMb(red.heap[2] - red.heap[1])],
      [`HubClient heap after GC, before / after ${more} more`,
        `${mb(heapBefore)} / ${mb(heapAfter)}`, '-', signedMb(heapAfter - heapBefore)],
    ]));
    console.log(`\nEach sender is a process of its own; the hub runs in the benchmark's. ` +
      `Throughput: medians of ${ROUNDS} bursts of ${N} messages, each sender warm (the SDK ` +
      `and HubClient after ${WARMUP_ROUNDS} uncounted bursts; Node-RED after about as ` +
      'many messages, each burst right after a deploy and one burst of warm-up). "ours" ' +
      'is a real Node-RED: a function node sends a burst of readings into ' +
      'azure-iot-hub-out, which keeps at most 32 messages in flight, as HubClient does. ' +
      '"On disk" also journals every message to a file synced in batches (fdatasync), ' +
      'its rounds paired with in-memory ones. "Just deployed" is the first 10,000 ' +
      'messages after a deploy, over which the TPM commands are counted (identity read ' +
      `included). Deploy to first message: median of ${DEPLOYS} full deploys.`);
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
