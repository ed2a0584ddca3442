import { CC, HEADER_SIZE, RH, STARTUP_CLEAR, TAG } from './constants';
import { TpmResponseError } from './errors';
import { Reader, Writer } from './marshal';
import { RESEND_CODES } from './response-codes';
import { createTransport, formatTcti, parseTcti } from './tcti';
import type { Transport } from './transport/transport';

/** One command to send: code, handles, how many handles need a password session. */
export interface Command {
  readonly code: number;
  readonly name: string;
  readonly handles?: readonly number[];
  /** The first `sessions` handles are authorized with an empty password. */
  readonly sessions?: number;
  readonly params?: Buffer;
  /** How many handles the response carries before its parameters. */
  readonly outHandles?: number;
}

export interface Response {
  readonly handles: readonly number[];
  readonly params: Reader;
}

/** Anything that runs TPM commands: the client itself, or a transaction inside it. */
export interface Executor {
  run(command: Command): Promise<Response>;
}

export interface TpmOptions {
  /** Per command; a chip doing RSA key generation may need tens of seconds. */
  readonly timeoutMs?: number;
  /** How often to resend after TPM_RC_RETRY, YIELDED or TESTING. */
  readonly resends?: number;
}

const RC_INITIALIZE = 0x100;

// TPMS_AUTH_COMMAND for an empty password: TPM_RS_PW, empty nonce, continueSession,
// empty hmac. 9 bytes.
const PASSWORD_SESSION = new Writer().u32(RH.PW).u16(0).u8(1).u16(0).toBuffer();

/**
 * A TPM 2.0 connection. Commands are serialised: concurrent callers queue up and never
 * interleave on the TPM, which matters for swtpm (one client, no resource manager) and
 * for chips with three object slots.
 */
export class Tpm implements Executor {
  private queue: Promise<unknown> = Promise.resolve();
  private started = false;
  private readonly timeoutMs: number;
  private readonly resends: number;

  constructor(readonly transport: Transport, options: TpmOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.resends = options.resends ?? 5;
  }

  /** Opens the TPM named by a TCTI string (see parseTcti for the defaults). */
  static open(tcti?: string, options?: TpmOptions): Tpm {
    return new Tpm(createTransport(parseTcti(tcti)), options);
  }

  /** Normalised TCTI string, to share one connection per TPM in a process. */
  static key(tcti?: string): string {
    return formatTcti(parseTcti(tcti));
  }

  get description(): string {
    return this.transport.description;
  }

  run(command: Command): Promise<Response> {
    return this.exclusive(() => this.execute(command));
  }

  /**
   * Runs several commands with nobody else's in between, e.g. load, use, flush. The
   * executor passed in must be used for every command inside, or it would deadlock.
   */
  transaction<T>(work: (tpm: Executor) => Promise<T>): Promise<T> {
    return this.exclusive(() => work({ run: (command) => this.execute(command) }));
  }

  close(): Promise<void> {
    return this.exclusive(() => this.transport.close());
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async execute(command: Command): Promise<Response> {
    if (!this.started && this.transport.needsStartup) {
      await this.startup();
    }
    const bytes = encode(command);
    for (let attempt = 0; ; attempt++) {
      const raw = await this.transport.transmit(bytes, this.timeoutMs);
      const rc = raw.readUInt32BE(6);
      if (RESEND_CODES.has(rc) && attempt < this.resends) {
        await delay(10 * 2 ** attempt);
        continue;
      }
      // A simulator restarted behind our back wants TPM2_Startup again.
      if (rc === RC_INITIALIZE && this.transport.needsStartup && attempt === 0) {
        await this.startup();
        continue;
      }
      return decode(command, raw);
    }
  }

  // A simulator may come up without TPM2_Startup; TPM_RC_INITIALIZE means it had one.
  private async startup(): Promise<void> {
    const params = new Writer().u16(STARTUP_CLEAR).toBuffer();
    const raw = await this.transport.transmit(
      encode({ code: CC.Startup, name: 'TPM2_Startup', params }), this.timeoutMs);
    const rc = raw.readUInt32BE(6);
    if (rc !== 0 && rc !== RC_INITIALIZE) throw new TpmResponseError('TPM2_Startup', rc);
    this.started = true;
  }
}

export function encode(command: Command): Buffer {
  const handles = command.handles ?? [];
  const sessions = command.sessions ?? 0;
  const body = new Writer();
  for (const handle of handles) body.u32(handle);
  if (sessions > 0) {
    const auth = Buffer.concat(Array.from({ length: sessions }, () => PASSWORD_SESSION));
    body.u32(auth.length).bytes(auth);
  }
  body.bytes(command.params ?? Buffer.alloc(0));
  const payload = body.toBuffer();
  return new Writer()
    .u16(sessions > 0 ? TAG.SESSIONS : TAG.NO_SESSIONS)
    .u32(HEADER_SIZE + payload.length)
    .u32(command.code)
    .bytes(payload)
    .toBuffer();
}

function decode(command: Command, raw: Buffer): Response {
  const reader = new Reader(raw, `${command.name} response`);
  const tag = reader.u16();
  reader.u32();
  const rc = reader.u32();
  if (rc !== 0) {
    const authorized = (command.handles ?? []).slice(0, command.sessions ?? 0);
    throw new TpmResponseError(command.name, rc, authorized);
  }

  const handles: number[] = [];
  for (let i = 0; i < (command.outHandles ?? 0); i++) handles.push(reader.u32());
  if (tag === TAG.SESSIONS) {
    const size = reader.u32();
    return { handles, params: new Reader(reader.bytes(size), `${command.name} response`) };
  }
  return {
    handles,
    params: new Reader(reader.bytes(reader.remaining), `${command.name} response`),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
