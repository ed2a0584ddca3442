// A sender in a process of its own, as a plain script on the device would be: the SDK's
// Client.sendEvent with the key in memory (one at a time, then 10 in flight), or our
// HubClient on a TPM identity. Settings arrive on stdin, so no key is on a command line;
// the messages per second of each round go to stdout as JSON. Run with --expose-gc.
import { performance } from 'node:perf_hooks';
import { text } from 'node:stream/consumers';
import { NoRetry, Message } from 'azure-iot-common';
import { Client } from 'azure-iot-device';
import { Amqp } from 'azure-iot-device-amqp';
import { TpmIdentity } from '../../src/identity';
import { HubClient, buildMessage } from '../../src/iothub';

export interface SenderSettings {
  readonly peer: 'sdk' | 'hub-client';
  readonly caPem: string;
  readonly messages: number;
  readonly rounds: number;
  /** Rounds sent first and not counted, so that every sender is measured warm. */
  readonly warmupRounds: number;
  /** For 'sdk': the device's connection string. */
  readonly connectionString?: string;
  /** For 'hub-client': the TPM holding the identity in slot 0. */
  readonly tcti?: string;
  /** For 'hub-client': rounds sent between the two heap readings. */
  readonly heapRounds?: number;
}

/** Messages per second of each round by mode; for 'hub-client' also `heapKb`. */
export interface SenderRates {
  readonly [mode: string]: number[];
}

const reading = (round: number, i: number): { round: number; i: number; temperature: number } =>
  ({ round, i, temperature: 21.5 });

async function rate(count: number, work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return count / ((performance.now() - start) / 1000);
}

async function sdk(settings: SenderSettings): Promise<SenderRates> {
  if (!settings.connectionString) throw new Error('sdk: no connection string');
  const client = Client.fromConnectionString(settings.connectionString, Amqp);
  client.setRetryPolicy(new NoRetry());
  await client.setOptions({ ca: settings.caPem });
  await client.open();
  const event = (round: number, i: number): Message =>
    new Message(JSON.stringify(reading(round, i)));
  await client.sendEvent(event(-1, -1));

  const sequential: number[] = [];
  const parallel: number[] = [];
  const n = settings.messages;
  // Negative rounds warm up and are not counted, as in the other senders.
  for (let round = -settings.warmupRounds; round < settings.rounds; round++) {
    sequential.push(await rate(n, async () => {
      for (let i = 0; i < n; i++) await client.sendEvent(event(round, i));
    }));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) await client.sendEvent(event(round, next++));
    };
    parallel.push(await rate(n, () => Promise.all(Array.from({ length: 10 }, worker))));
  }
  await client.close();
  return {
    sequential: sequential.slice(settings.warmupRounds),
    parallel: parallel.slice(settings.warmupRounds),
  };
}

async function hubClient(settings: SenderSettings): Promise<SenderRates> {
  if (!settings.tcti) throw new Error('hub-client: no TPM');
  const identity = new TpmIdentity({ tpm: settings.tcti, slot: 0, tokenTtl: 3600 });
  const client = new HubClient({
    source: identity, ca: settings.caPem, queueSize: settings.messages,
  });
  try {
    await client.send(buildMessage({ payload: 'warm-up' }));
    const rates: number[] = [];
    for (let round = -settings.warmupRounds; round < settings.rounds; round++) {
      rates.push(await rate(settings.messages, () => Promise.all(
        Array.from({ length: settings.messages }, (_, i) =>
          client.send(buildMessage({ payload: reading(round, i) }))))));
    }
    // Heap after a collection, before and after many more messages: flat unless the
    // client keeps something per message.
    const heapKb = (): number => {
      global.gc?.();
      return Math.round(process.memoryUsage().heapUsed / 1024);
    };
    const before = heapKb();
    for (let round = 0; round < (settings.heapRounds ?? 0); round++) {
      await Promise.all(Array.from({ length: settings.messages }, (_, i) =>
        client.send(buildMessage({ payload: reading(round, i) }))));
    }
    return { queued: rates.slice(settings.warmupRounds), heapKb: [before, heapKb()] };
  } finally {
    await client.close();
    await identity.close();
  }
}

async function main(): Promise<void> {
  const settings = JSON.parse(await text(process.stdin)) as SenderSettings;
  const rates = settings.peer === 'sdk' ? await sdk(settings) : await hubClient(settings);
  process.stdout.write(JSON.stringify(rates));
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
