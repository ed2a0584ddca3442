import { open, type FileHandle } from 'node:fs/promises';
import { MAX_RESPONSE_SIZE } from '../constants';
import { TpmTimeoutError, TpmTransportError } from '../errors';
import { checkResponse, type Transport } from './transport';

/**
 * A TPM character device such as /dev/tpmrm0. One write() carries a whole command and
 * one read() returns the whole response. fs/promises runs both on libuv's thread pool,
 * so a chip that takes seconds never blocks the event loop.
 */
export class DeviceTransport implements Transport {
  readonly needsStartup = false;
  private handle: FileHandle | undefined;

  constructor(readonly path: string) {}

  get description(): string {
    return this.path;
  }

  async transmit(command: Buffer, timeoutMs: number): Promise<Buffer> {
    const handle = await this.ensureOpen();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // The pending read cannot be cancelled; closing the file makes the kernel drop
        // the command's result, and the next command opens the device afresh.
        this.handle = undefined;
        handle.close().catch(() => undefined);
        reject(new TpmTimeoutError(`no answer from ${this.path} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exchange(handle, command), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async exchange(handle: FileHandle, command: Buffer): Promise<Buffer> {
    try {
      await handle.write(command, 0, command.length, null);
      const buf = Buffer.alloc(MAX_RESPONSE_SIZE);
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      return checkResponse(buf.subarray(0, bytesRead));
    } catch (err) {
      if (err instanceof Error && 'code' in err) {
        this.handle = undefined;
        handle.close().catch(() => undefined);
        throw deviceError(this.path, err as NodeJS.ErrnoException);
      }
      throw err;
    }
  }

  private async ensureOpen(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    try {
      this.handle = await open(this.path, 'r+');
      return this.handle;
    } catch (err) {
      throw deviceError(this.path, err as NodeJS.ErrnoException);
    }
  }
}

function deviceError(path: string, err: NodeJS.ErrnoException): TpmTransportError {
  const code = err.code ?? 'EIO';
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new TpmTransportError(
        `permission denied on ${path}; add the user that runs Node-RED to the group tss ` +
          '(sudo usermod -aG tss $USER) and log in again', code);
    case 'ENOENT':
      return new TpmTransportError(
        `${path} does not exist; enable the TPM (Raspberry Pi: dtoverlay=tpm-slb9670 in ` +
          'config.txt, then reboot) or choose a simulator such as swtpm:host=127.0.0.1,port=2321',
        code);
    case 'EBUSY':
      return new TpmTransportError(
        `${path} is busy; another program holds it open (use /dev/tpmrm0, which can be shared)`,
        code);
    default:
      return new TpmTransportError(`${path}: ${err.message}`, code);
  }
}
