// Node-RED glue for azure-iot-hub-out: each input message goes to IoT Hub as the device
// of the chosen tpm-credentials node. The connection, queue and tokens live in HubClient.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildMessage, leaseHubClient, shortReason, tokenPrintingDebug, type HubClientLease,
  type HubStatus, type HubTransport,
} from '../src/iothub';
import type {
  DoneFn, Node, NodeAPI, NodeDef, NodeMessage, NodeStatus, SendFn,
} from './lib/red';
import type { TpmCredentialsNode } from './lib/tpm-credentials-api';

interface HubOutDef extends NodeDef {
  identity?: string;
  transport?: string;
  queueSize?: number | string;
  ca?: string;
  /** Sets `deviceId` in object payloads to the device id read from the TPM. */
  addDeviceId?: boolean;
  /** Keeps waiting messages in a file under the user directory, across restarts. */
  keepOnDisk?: boolean;
}

const DEFAULT_QUEUE = 1000;
// Node-RED gives a node 15 s to close; leave room for the others.
const CLOSE_TIMEOUT_MS = 5000;

// A status line is read at a glance: the start of the reason and when the next try is.
// The whole reason goes to the log.
const STATUS_CHARS = 72;

function brief(detail: string): string {
  if (detail.length <= STATUS_CHARS) return detail;
  const next = /; (retrying|next try) in \d+ s$/.exec(detail)?.[0] ?? '';
  return `${detail.slice(0, STATUS_CHARS - next.length - 1).trimEnd()}…${next}`;
}

export = function register(RED: NodeAPI): void {
  const text = (key: string, subs?: Record<string, string | number>): string =>
    RED._(`azure-iot-hub-out.${key}`, subs);

  function statusOf(status: HubStatus): NodeStatus {
    const queued = status.queued > 0 ? ` · ${text('status.queued', { n: status.queued })}` : '';
    const detail = status.detail ? `: ${brief(status.detail)}` : '';
    switch (status.state) {
      case 'connecting':
        return { fill: 'yellow', shape: 'ring', text: text('status.connecting') + queued };
      case 'connected':
        return { fill: 'green', shape: 'dot', text: text('status.connected') + queued };
      case 'sending':
        return { fill: 'green', shape: 'ring', text: text('status.sending') + queued };
      case 'disconnected':
        return { fill: 'red', shape: 'ring', text: text('status.disconnected') + detail + queued };
      case 'error': return { fill: 'red', shape: 'dot', text: text('status.error') + detail };
      case 'closed': return {};
    }
  }

  // Said once, when Node-RED loads the node: the operator's DEBUG setting, not this
  // package, would put tokens into the log.
  const printing = tokenPrintingDebug();
  if (printing.length > 0) {
    RED.log.warn(text('warnings.debug-tokens', { namespaces: printing.join(', ') }));
  }

  function AzureIotHubOut(this: Node, def: HubOutDef): void {
    RED.nodes.createNode(this, def);
    setUp(this, def);
  }

  function setUp(node: Node, def: HubOutDef): void {
    const credentials = def.identity
      ? (RED.nodes.getNode(def.identity) as TpmCredentialsNode | null) : null;
    const transport: HubTransport = def.transport === 'amqp-ws' ? 'amqp-ws' : 'amqp';
    // An empty field is the default: Number('') is 0, which would make a queue of one.
    const asked = def.queueSize === undefined || String(def.queueSize).trim() === ''
      ? Number.NaN : Number(def.queueSize);
    const queueSize = Number.isFinite(asked) ? Math.max(1, Math.floor(asked)) : DEFAULT_QUEUE;

    let setupError: Error | undefined;
    let ca: string | undefined;
    if (!credentials) {
      setupError = new Error(text('errors.no-identity'));
    } else if (def.ca) {
      try {
        ca = readFileSync(def.ca, 'utf8');
      } catch (err) {
        setupError = new Error(text('errors.ca', { path: def.ca, reason: shortReason(err) }));
      }
    }

    const userDir = RED.settings.userDir;
    const keepOnDisk = def.keepOnDisk === true;
    if (keepOnDisk && !userDir) node.warn(text('errors.no-user-dir'));
    const journalDir = keepOnDisk && userDir ? join(userDir, 'azure-iot-tpm', 'queue') : '';

    let lease: HubClientLease | undefined;
    if (credentials && !setupError) {
      lease = leaseHubClient(`${credentials.id}|${transport}|${def.ca ?? ''}`, () => ({
        source: credentials, transport, queueSize, ...(ca ? { ca } : {}),
      }));
    }
    const client = lease?.client;
    // One connection per device, so one queue: On disk in any of its nodes keeps it all.
    if (journalDir) client?.keepOnDisk(journalDir);

    const onStatus = (status: HubStatus): void => node.status(statusOf(status));
    const onLog = (level: string, message: string): void => {
      // With several out nodes on one device, the first still deployed speaks for the
      // shared connection, so each line is logged once.
      if (client?.listeners('log')[0] !== onLog) return;
      if (level === 'info') node.log(message);
      else node.warn(message);
    };
    if (client) {
      client.on('status', onStatus);
      client.on('log', onLog);
      node.status(client.currentStatus.state === 'disconnected' && !client.currentStatus.detail
        ? { fill: 'grey', shape: 'ring', text: text('status.idle') }
        : statusOf(client.currentStatus));
    } else {
      node.status({ fill: 'red', shape: 'dot', text: text('status.not-configured') });
      node.error(setupError?.message ?? text('errors.no-identity'));
    }

    // The id is read once per deploy. Messages take turns while it is read, so a reading
    // never overtakes the one before it on its way into the send queue.
    let deviceId: Promise<string> | undefined;
    let turn: Promise<void> = Promise.resolve();
    const readDeviceId = (from: TpmCredentialsNode): Promise<string> => {
      if (!deviceId) {
        const reading = from.identity().then((identity) => identity.deviceId);
        reading.catch(() => { if (deviceId === reading) deviceId = undefined; });
        deviceId = reading;
      }
      return deviceId;
    };

    node.on('input', (msg, send, done) => {
      if (!client || !credentials) {
        done(setupError ?? new Error(text('errors.no-identity')));
        return;
      }
      if (def.addDeviceId !== true) {
        deliver(msg, send, done);
        return;
      }
      const payload = msg.payload;
      turn = turn.then(async () => {
        if (isPlainObject(payload)) {
          msg.payload = { ...payload, deviceId: await readDeviceId(credentials) };
        }
        deliver(msg, send, done);
      }).catch((err: unknown) => {
        node.status({ fill: 'red', shape: 'ring', text: text('status.refused') });
        done(new Error(text('errors.device-id', { reason: shortReason(err) }),
          { cause: err }));
      });
    });

    function deliver(msg: NodeMessage, send: SendFn, done: DoneFn): void {
      if (!client) return;
      let message;
      try {
        message = buildMessage({
          payload: msg.payload, properties: msg['properties'], messageId: msg['messageId'],
          correlationId: msg['correlationId'], contentType: msg['contentType'],
        });
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: text('status.refused') });
        done(err as Error);
        return;
      }
      client.send(message).then(() => {
        msg['messageId'] = message.messageId;
        send(msg);
        done();
      }, (err: Error) => done(err));
    }

    node.on('close', (_removed, done) => {
      let finished = false;
      // Listening until the client is closed, so that what it says on closing (messages
      // kept on disk for the next start) reaches the log.
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        client?.off('status', onStatus);
        client?.off('log', onLog);
        done();
      };
      const timer = setTimeout(finish, CLOSE_TIMEOUT_MS);
      (lease?.release() ?? Promise.resolve()).catch(() => undefined).finally(finish);
    });
  }

  RED.nodes.registerType('azure-iot-hub-out', AzureIotHubOut);
};

/** A JSON-style object: not an array, a buffer, a date or a class instance. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
