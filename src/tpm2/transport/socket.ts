import { Socket } from 'node:net';
import { HEADER_SIZE } from '../constants';
import { TpmFormatError, TpmTimeoutError, TpmTransportError } from '../errors';
import { checkResponse, responseSize, type Transport } from './transport';

/** How command and response bytes are wrapped on the wire. */
export type Framing = 'swtpm' | 'mssim';

// Microsoft simulator framing: u32 TPM_SEND_COMMAND | u8 locality | u32 length | command,
// answered by u32 length | response | u32 0.
const MSSIM_SEND_COMMAND = 8;

/**
 * A TPM simulator on a TCP port: swtpm's raw framing or the Microsoft simulator's.
 * The connection is kept between commands and opened again after any failure, since
 * after a timeout or a garbled answer nobody knows where the next response starts.
 */
export class SocketTransport implements Transport {
  readonly needsStartup = true;
  private socket: Socket | undefined;

  constructor(readonly host: string, readonly port: number, readonly framing: Framing) {}

  get description(): string {
    return `${this.framing} at ${this.host}:${this.port}`;
  }

  async transmit(command: Buffer, timeoutMs: number): Promise<Buffer> {
    const socket = await this.connect(timeoutMs);
    try {
      return await this.exchange(socket, command, timeoutMs);
    } catch (err) {
      this.drop();
      throw err;
    }
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 200).unref();
    });
  }

  private drop(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(timeoutMs: number): Promise<Socket> {
    const existing = this.socket;
    if (existing && !existing.destroyed) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TpmTimeoutError(`no connection to ${this.description} in ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(this.connectError(err));
      });
      socket.connect(this.port, this.host, () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        // swtpm takes a command from a single read: Nagle must not split it.
        socket.setNoDelay(true);
        socket.on('error', () => undefined);
        // A simulator that went away leaves a dead socket; the next command reconnects.
        socket.once('close', () => {
          if (this.socket === socket) this.socket = undefined;
        });
        this.socket = socket;
        resolve(socket);
      });
    });
  }

  private exchange(socket: Socket, command: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let received = Buffer.alloc(0);
      const finish = (err: Error | undefined, response?: Buffer): void => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        if (err) reject(err);
        else if (response) resolve(response);
      };
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        try {
          const response = this.unframe(received);
          if (response) finish(undefined, response);
        } catch (err) {
          finish(err as Error);
        }
      };
      const onClose = (): void => {
        finish(new TpmTransportError(
          `${this.description} closed the connection in the middle of a command`,
          'ECONNRESET'));
      };
      const timer = setTimeout(() => {
        finish(new TpmTimeoutError(`no answer from ${this.description} within ${timeoutMs} ms`));
      }, timeoutMs);

      socket.on('data', onData);
      socket.on('close', onClose);
      socket.write(this.frame(command));
    });
  }

  private frame(command: Buffer): Buffer {
    if (this.framing === 'swtpm') return command;
    const head = Buffer.alloc(9);
    head.writeUInt32BE(MSSIM_SEND_COMMAND, 0);
    head.writeUInt8(0, 4);
    head.writeUInt32BE(command.length, 5);
    return Buffer.concat([head, command]);
  }

  /** The response, once all of it has arrived; undefined while more is to come. */
  private unframe(data: Buffer): Buffer | undefined {
    const skip = this.framing === 'mssim' ? 4 : 0;
    if (data.length < skip + HEADER_SIZE) return undefined;
    const size = responseSize(data.subarray(skip, skip + HEADER_SIZE));
    if (this.framing === 'mssim' && data.readUInt32BE(0) !== size) {
      throw new TpmFormatError(`garbled response: frame length disagrees with TPM header`);
    }
    const trailer = this.framing === 'mssim' ? 4 : 0;
    const total = skip + size + trailer;
    if (data.length < total) return undefined;
    if (data.length > total) {
      throw new TpmFormatError(`garbled response: ${data.length - total} bytes too many`);
    }
    return checkResponse(Buffer.from(data.subarray(skip, skip + size)));
  }

  private connectError(err: NodeJS.ErrnoException): TpmTransportError {
    const where = `${this.host}:${this.port}`;
    if (err.code === 'ECONNREFUSED') {
      return new TpmTransportError(
        `nothing listens at ${where}; start the TPM simulator or correct the TCTI`, err.code);
    }
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
      return new TpmTransportError(`cannot resolve ${this.host}; correct the TCTI host`, err.code);
    }
    return new TpmTransportError(`cannot reach ${this.description}: ${err.message}`, err.code);
  }
}
