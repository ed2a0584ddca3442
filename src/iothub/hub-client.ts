import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { NoRetry, errors, type Message } from 'azure-iot-common';
import { Client } from 'azure-iot-device';
import { Amqp, AmqpWs } from 'azure-iot-device-amqp';
import { Backoff } from './backoff';
import { diagnoseConnection } from './diagnose';
import {
  ClosedError, ConfigurationError, CredentialsRefusedError, QueueFullError, classify,
  shortReason,
} from './errors';
import { MessageJournal } from './journal';
import { SendQueue, type Job } from './send-queue';
import { TpmAuthenticationProvider, type TokenSource } from './tpm-auth-provider';

export type HubTransport = 'amqp' | 'amqp-ws';

const STATUS_INTERVAL_MS = 250;

// Every client of this process by the device it connects as: IoT Hub keeps one connection
// per device and drops the older one when another opens, so two would take turns
// throwing each other off.
const connectedAs = new Map<string, Set<HubClient>>();
const CLOSED_BEFORE_ACCEPTED = 'closed before IoT Hub accepted the message (redeploy or stop)';
export type HubState = 'connecting' | 'connected' | 'sending' | 'disconnected' | 'error' | 'closed';

export interface HubStatus {
  readonly state: HubState;
  readonly detail?: string;
  /** Messages waiting to be sent. */
  readonly queued: number;
}

export interface HubClientOptions {
  readonly source: TokenSource;
  readonly transport?: HubTransport;
  /** PEM of a CA to trust instead of the system's, e.g. an IoT Edge gateway's. */
  readonly ca?: string;
  /** Messages that may wait while the hub is unreachable. */
  readonly queueSize?: number;
  /** Messages sent before the first is confirmed; AMQP keeps them in order. */
  readonly maxInFlight?: number;
  readonly reconnectDelayMs?: { readonly initial: number; readonly max: number };
  /** How long to wait after the hub refused fresh credentials, doubling up to max. */
  readonly credentialsBackoffMs?: { readonly initial: number; readonly max: number };
  readonly openTimeoutMs?: number;
  readonly renewalMarginSeconds?: number;
  /**
   * A folder to keep waiting messages in, so that they survive a restart or a power cut;
   * one file per device and transport. Without it the queue is in memory only.
   */
  readonly journalDir?: string;
}

/**
 * One device's connection to IoT Hub, shared by every node that sends as that device.
 * Messages queue while the hub is unreachable and go out in order once it is back; the
 * SDK's own retries are off so that problems show within seconds, and this class does
 * the reconnecting, with backoff.
 */
export class HubClient extends EventEmitter {
  readonly provider: TpmAuthenticationProvider;
  readonly stats = { accepted: 0, failed: 0, connects: 0, disconnects: 0 };

  private readonly client: Client;
  private readonly queue = new SendQueue();
  private readonly maxInFlight: number;
  private readonly queueSize: number;
  private readonly reconnect: Backoff;
  private readonly credentialsBackoff: Backoff;
  private inFlight = 0;
  private connected = false;
  private connecting = false;
  private refreshing = false;
  private closed = false;
  private waitTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private optionsApplied: Promise<unknown> | undefined;
  private status: HubStatus = { state: 'disconnected', queued: 0 };
  /** Settings that can never work; every message fails with this until redeployed. */
  private misconfigured: ConfigurationError | undefined;
  /** While the hub refuses the credentials, messages fail at once instead of piling up. */
  private refused: { until: number; reason: string } | undefined;
  /** Ends a pending open at close: the SDK's open may never settle once closed. */
  private abortOpen: ((err: Error) => void) | undefined;
  /** The device this client connects as, once known: `host/device[/module]`. */
  private device: string | undefined;
  private journalDir: string | undefined;
  private journal: MessageJournal | undefined;
  private journalOpening: Promise<void> | undefined;
  private journalTrouble: string | undefined;

  constructor(private readonly options: HubClientOptions) {
    super();
    this.maxInFlight = options.maxInFlight ?? 32;
    this.queueSize = options.queueSize ?? 1000;
    this.reconnect = new Backoff(options.reconnectDelayMs?.initial ?? 1000,
      options.reconnectDelayMs?.max ?? 30_000);
    this.credentialsBackoff = new Backoff(options.credentialsBackoffMs?.initial ?? 10_000,
      options.credentialsBackoffMs?.max ?? 300_000);

    this.provider = new TpmAuthenticationProvider(options.source,
      options.renewalMarginSeconds === undefined
        ? {} : { renewalMarginSeconds: options.renewalMarginSeconds });
    this.provider.on('newTokenAvailable', () => this.emit('log', 'info', 'token renewed'));
    this.provider.on('renewalFailed', (err: unknown) =>
      this.emit('log', 'warn', `token renewal failed, trying again: ${shortReason(err)}`));

    const transport = options.transport === 'amqp-ws' ? AmqpWs : Amqp;
    this.client = Client.fromAuthenticationProvider(this.provider, transport);
    this.client.setRetryPolicy(new NoRetry());
    this.client.on('disconnect', this.onDisconnect);
    // Without a listener an 'error' event would take the whole Node-RED process down.
    this.client.on('error', this.onClientError);
    if (options.journalDir) this.keepOnDisk(options.journalDir);
  }

  /**
   * Keeps waiting messages in a file under `dir` from now on (see journalDir), for every
   * sender of this device: IoT Hub takes one connection per device, so the nodes that
   * share it share this too. Messages kept from before a restart go out without waiting
   * for a new one. The first folder given stays.
   */
  keepOnDisk(dir: string): void {
    if (this.journalDir !== undefined || this.closed) return;
    this.journalDir = dir;
    setImmediate(() => { void this.openJournal(); });
  }

  get currentStatus(): HubStatus {
    return this.status;
  }

  /** Resolves once the hub has accepted the message. */
  send(message: Message): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('the connection to IoT Hub is closed'));
    if (this.misconfigured) return Promise.reject(this.misconfigured);
    if (this.refused && Date.now() < this.refused.until) {
      const seconds = Math.ceil((this.refused.until - Date.now()) / 1000);
      return Promise.reject(new CredentialsRefusedError(
        `${this.refused.reason}; not trying again for ${seconds} s`));
    }
    if (this.queue.length >= this.queueSize) {
      return Promise.reject(new QueueFullError(
        `${this.queue.length} messages are already waiting for IoT Hub ` +
          `(${this.status.detail ?? this.status.state}); this one was not queued`));
    }
    return new Promise<void>((resolve, reject) => {
      const job = this.queue.push(message, resolve, reject);
      if (this.journal?.healthy) job.entry = this.journal.add(message);
      this.kick();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abortOpen?.(new ClosedError('closed while connecting to IoT Hub'));
    clearTimeout(this.waitTimer);
    clearTimeout(this.statusTimer);
    await this.journalOpening;
    // A message on disk waits there for the next start; its done() never comes in this run.
    let kept = 0;
    for (const job of this.queue.drain()) {
      if (this.onDisk(job)) kept++;
      else job.reject(new ClosedError(CLOSED_BEFORE_ACCEPTED));
    }
    if (kept > 0) {
      this.emit('log', 'info', `${kept} waiting messages kept in ${this.journal?.path ?? ''} ` +
        'for the next start');
    }
    this.provider.stop();
    this.client.removeListener('disconnect', this.onDisconnect);
    await this.client.close().catch(() => undefined);
    this.client.removeListener('error', this.onClientError);
    this.client.on('error', () => undefined);
    await this.journal?.close();
    if (this.device !== undefined) {
      const clients = connectedAs.get(this.device);
      clients?.delete(this);
      if (clients?.size === 0) connectedAs.delete(this.device);
    }
    this.setStatus('closed');
  }

  /** Starts whatever is needed to move the queue: a connection, or sending. */
  private kick(): void {
    if (this.closed) return;
    if (this.connected) this.pump();
    else if (!this.connecting && !this.waitTimer) void this.connect();
    else this.setStatus(this.status.state, this.status.detail);
  }

  private async connect(): Promise<void> {
    this.connecting = true;
    this.setStatus('connecting');
    try {
      if (this.journalDir !== undefined && !this.journal) await this.openJournal();
      if (this.options.ca) this.optionsApplied ??= this.client.setOptions({ ca: this.options.ca });
      await this.optionsApplied;
      if (this.options.transport === 'amqp-ws') await this.checkWebSocketHost();
      await this.openOrRefresh();
    } catch (err) {
      this.connecting = false;
      if (this.closed) return;
      if (err instanceof ConfigurationError) this.giveUp(err);
      else if (classify(err) === 'unauthorized') this.credentialsRefused(err);
      else {
        const reason = await this.explain(err);
        if (!this.closed) this.waitThen(this.reconnect.next(), 'disconnected', reason);
      }
      return;
    }
    this.connecting = false;
    if (this.closed) {
      await this.client.close().catch(() => undefined);
      return;
    }
    this.connected = true;
    this.refused = undefined;
    this.stats.connects++;
    this.reconnect.reset();
    this.emit('log', 'info', 'connected to IoT Hub');
    await this.registerDevice();
    this.pump();
  }

  /** Host, device id and module id (when there is one) of the device this client is. */
  private async identityParts(): Promise<string[]> {
    const { host, deviceId, moduleId } = await this.provider.getDeviceCredentials();
    return [host, deviceId, moduleId]
      .filter((part): part is string => typeof part === 'string' && part !== '');
  }

  /** Says when another client of this process already connects as the same device. */
  private async registerDevice(): Promise<void> {
    if (this.device !== undefined) return;
    const parts = await this.identityParts().catch(() => undefined);
    if (!parts || this.closed) return;
    this.device = parts.join('/');
    const clients = connectedAs.get(this.device) ?? new Set<HubClient>();
    connectedAs.set(this.device, clients);
    clients.add(this);
    if (clients.size > 1) {
      this.emit('log', 'warn', `another connection of this Node-RED sends as ${this.device}. ` +
        'IoT Hub keeps one connection per device, so they will keep disconnecting each ' +
        'other: send through one tpm-credentials node per device, with one transport and CA');
    }
  }

  /**
   * The SDK's WebSocket transport always dials port 443 and appends it to the host as
   * given, so a host with a port makes an invalid URL, which it throws where nothing can
   * catch it. Refuse that here with the fix instead.
   */
  private async checkWebSocketHost(): Promise<void> {
    const { host, gatewayHostName } = await this.provider.getDeviceCredentials();
    const target = gatewayHostName ?? host;
    if (/:\d+$/.test(target)) {
      throw new ConfigurationError(
        `AMQP over WebSockets always uses port 443, but the device's host is ${target}; ` +
          'choose the AMQP transport, or store a connection string without a port');
    }
  }

  /** The SDK's reason, or a better one from a TLS handshake of our own. */
  private async explain(err: unknown): Promise<string> {
    const credentials = await this.provider.getDeviceCredentials().catch(() => undefined);
    if (!credentials) return shortReason(err);
    const port = this.options.transport === 'amqp-ws' ? 443 : 5671;
    const host = credentials.gatewayHostName ?? credentials.host;
    return (await diagnoseConnection(host, port, this.options.ca)) ?? shortReason(err);
  }

  /**
   * Opens the device's journal and puts what it kept in front of the queue. The file is
   * named by the identity read from the TPM, so messages never go out as another device.
   * When it cannot be opened, the queue stays in memory and this is said once.
   */
  private openJournal(): Promise<void> {
    const dir = this.journalDir;
    if (!dir || this.journal || this.closed) return Promise.resolve();
    this.journalOpening ??= this.restoreFromJournal(dir).catch((err: unknown) => {
      this.journalOpening = undefined;
      const trouble = shortReason(err);
      if (trouble === this.journalTrouble) return;
      this.journalTrouble = trouble;
      this.emit('log', 'warn', `waiting messages are kept in memory only: ${trouble}`);
    });
    return this.journalOpening;
  }

  private async restoreFromJournal(dir: string): Promise<void> {
    const name = [...await this.identityParts(), this.options.transport ?? 'amqp']
      .map((part) => part.replace(/[^A-Za-z0-9.-]/g, '_')).join('_');
    const { journal, pending, skipped } = await MessageJournal.open(join(dir, `${name}.jsonl`));
    if (this.closed) {
      await journal.close();
      return;
    }
    this.journal = journal;
    journal.on('error', (err: unknown) => this.emit('log', 'warn',
      `cannot write ${journal.path} (${shortReason(err)}); waiting messages are kept in ` +
        'memory only from now on'));

    // What waited before the restart is older than anything queued since: it goes first.
    this.queue.restore(pending, (err) => this.emit('log', 'error',
      `a message kept from before the restart failed: ${shortReason(err)}`));
    for (const job of this.queue.waiting()) job.entry ??= journal.add(job.message);
    if (pending.length > 0 || skipped > 0) {
      const unreadable = skipped > 0 ? `; ${skipped} unreadable lines skipped` : '';
      this.emit('log', 'info', `${pending.length} messages kept from before the restart ` +
        `wait for IoT Hub${unreadable}`);
    }
    if (this.queue.length > 0) this.kick();
  }

  /** Whether the message is in a journal that still reaches the disk. */
  private onDisk(job: Job): boolean {
    return job.entry !== undefined && this.journal?.healthy === true;
  }

  /** The journal forgets a message that was accepted or failed for good. */
  private settled(job: Job): void {
    if (job.entry !== undefined) this.journal?.done(job.entry);
  }

  /** Fails everything waiting and everything to come: the settings have to change. */
  private giveUp(err: ConfigurationError): void {
    this.misconfigured = err;
    let kept = 0;
    for (const job of this.queue.drain()) {
      // One from before the restart stays on disk for a redeploy with better settings.
      if (job.restored && this.onDisk(job)) {
        kept++;
        continue;
      }
      this.stats.failed++;
      this.settled(job);
      job.reject(err);
    }
    if (kept > 0) {
      this.emit('log', 'warn', `${kept} messages kept from before the restart stay on disk ` +
        'until the settings are fixed');
    }
    this.setStatus('error', err.message);
    this.emit('log', 'error', err.message);
  }

  /** Opens; on Unauthorized, once more with a fresh token from the TPM. */
  private async openOrRefresh(): Promise<void> {
    try {
      await this.open();
    } catch (err) {
      if (classify(err) !== 'unauthorized') throw err;
      await this.provider.renew();
      await this.open();
    }
  }

  private async open(): Promise<void> {
    const timeoutMs = this.options.openTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      this.abortOpen = reject;
      timer = setTimeout(() => {
        void this.client.close().catch(() => undefined);
        reject(new Error(`no connection to IoT Hub within ${timeoutMs / 1000} s`));
      }, timeoutMs);
    });
    try {
      await Promise.race([this.client.open(), timeout]);
    } finally {
      clearTimeout(timer);
      this.abortOpen = undefined;
    }
  }

  private pump(): void {
    while (this.connected && !this.refreshing && !this.waitTimer &&
      this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const job = this.queue.shift();
      if (job) this.dispatch(job);
    }
    if (this.connected && !this.waitTimer) {
      this.setStatus(this.inFlight > 0 ? 'sending' : 'connected');
    }
  }

  private dispatch(job: Job): void {
    this.inFlight++;
    this.client.sendEvent(job.message).then(
      () => {
        this.inFlight--;
        this.stats.accepted++;
        this.credentialsBackoff.reset();
        this.settled(job);
        job.resolve();
        this.pump();
      },
      (err: unknown) => {
        this.inFlight--;
        this.onSendFailure(job, err);
      },
    );
  }

  private onSendFailure(job: Job, err: unknown): void {
    if (this.closed) {
      // One on disk goes again at the next start (with its message id, so a back end can
      // drop a double); failing it here as well would make the flow send it twice.
      if (!this.onDisk(job)) {
        job.reject(new ClosedError('closed before IoT Hub accepted the message'));
      }
      return;
    }
    switch (classify(err)) {
      case 'permanent':
        this.stats.failed++;
        this.settled(job);
        job.reject(err instanceof Error ? err : new Error(String(err)));
        this.pump();
        return;
      case 'unauthorized':
        if (job.retriedUnauthorized) {
          this.queue.requeue(job);
          this.credentialsRefused(err);
          return;
        }
        job.retriedUnauthorized = true;
        this.queue.requeue(job);
        void this.refreshToken();
        return;
      case 'transient':
        this.queue.requeue(job);
        if (err instanceof errors.NotConnectedError) this.connected = false;
        if (!this.connected) {
          this.kick();
          return;
        }
        // The connection still stands (throttling, a hub-side error): slow down.
        this.waitThen(this.reconnect.next(), 'disconnected', shortReason(err));
    }
  }

  /** A fresh token from the TPM, put on the open connection before sending again. */
  private async refreshToken(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    let failure: unknown;
    try {
      const { sharedAccessSignature } = await this.provider.renew();
      await new Promise<void>((resolve, reject) => {
        this.client.updateSharedAccessSignature(sharedAccessSignature ?? '',
          (err?: Error) => (err ? reject(err) : resolve()));
      });
      this.emit('log', 'info', 'the hub refused the token; sent a fresh one from the TPM');
    } catch (err) {
      failure = err;
    } finally {
      this.refreshing = false;
    }
    if (failure === undefined) {
      this.kick();
    } else if (classify(failure) === 'unauthorized') {
      this.credentialsRefused(failure);
    } else {
      // The SDK drops the connection when a token update fails; start over cleanly.
      this.connected = false;
      this.waitThen(this.reconnect.next(), 'disconnected',
        `token refresh failed: ${shortReason(failure)}`);
    }
  }

  /**
   * The hub refused the device's credentials, also with a fresh token: fail what waits
   * (through done(err), so a Catch node can keep it), fail new messages at once for a
   * while, and try again later: backing off instead of hammering the hub in a loop.
   */
  private credentialsRefused(err: unknown): void {
    const reason = "IoT Hub refused the device's credentials, also with a fresh token from " +
      `the TPM (${shortReason(err)}); check that the key in the TPM is the device's ` +
      "current key, that the device is enabled, and that this machine's clock is right " +
      '(tokens expire by it; a Raspberry Pi has no clock until NTP sets it)';
    const delay = this.credentialsBackoff.next();
    this.refused = { until: Date.now() + delay, reason };
    const kept: Job[] = [];
    for (const job of this.queue.drain()) {
      // No flow waits for one from before the restart: it waits for the next try.
      if (job.restored) {
        kept.push(job);
        continue;
      }
      this.stats.failed++;
      this.settled(job);
      job.reject(new CredentialsRefusedError(reason));
    }
    for (const job of kept) this.queue.requeue(job);
    const seconds = Math.max(1, Math.round(delay / 1000));
    this.setStatus('error', `credentials refused; next try in ${seconds} s`);
    this.emit('log', 'error', `${reason}; next try in ${seconds} s`);
    if (this.connected) {
      this.connected = false;
      void this.client.close().catch(() => undefined);
    }
    if (kept.length > 0) {
      clearTimeout(this.waitTimer);
      this.waitTimer = setTimeout(() => {
        this.waitTimer = undefined;
        this.kick();
      }, delay);
    }
  }

  /** Sends nothing for `ms`, then connects again or resumes sending. */
  private waitThen(ms: number, state: HubState, reason: string): void {
    clearTimeout(this.waitTimer);
    const seconds = Math.max(1, Math.round(ms / 1000));
    this.setStatus(state, `${reason}; retrying in ${seconds} s`);
    this.emit('log', 'warn', `${reason}; retrying in ${seconds} s`);
    this.waitTimer = setTimeout(() => {
      this.waitTimer = undefined;
      this.kick();
    }, ms);
  }

  private readonly onDisconnect = (err?: Error): void => {
    const wasConnected = this.connected;
    this.connected = false;
    if (this.closed || !wasConnected) return;
    this.stats.disconnects++;
    const reason = err ? shortReason(err) : 'connection closed';
    this.waitThen(this.reconnect.next(), 'disconnected', `disconnected: ${reason}`);
  };

  private readonly onClientError = (err: Error): void => {
    this.emit('log', 'warn', `IoT Hub client error: ${shortReason(err)}`);
  };

  private setStatus(state: HubState, detail?: string): void {
    const status: HubStatus = { state, queued: this.queue.length, ...(detail ? { detail } : {}) };
    const changed = status.state !== this.status.state || status.detail !== this.status.detail ||
      status.queued !== this.status.queued;
    this.status = status;
    if (!changed) return;
    // Trouble shows at once; the flicker between sending and connected at thousands of
    // messages a second is coalesced, so the editor is not flooded with status updates.
    if (state !== 'sending' && state !== 'connected') {
      this.emitStatus();
    } else {
      this.statusTimer ??= setTimeout(() => this.emitStatus(), STATUS_INTERVAL_MS);
    }
  }

  private emitStatus(): void {
    clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    this.emit('status', this.status);
  }
}
