import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './ports';

/** What the proxy does to the next command that matches. */
export type Fault =
  | { readonly kind: 'hang' }
  | { readonly kind: 'close' }
  | { readonly kind: 'garble'; readonly bytes: Buffer }
  | { readonly kind: 'respond'; readonly rc: number };

/**
 * Sits between our client and a real swtpm (raw framing) and, when told, breaks one
 * command: never answers, drops the connection, answers garbage, or answers an error
 * code. Everything else is passed through to the TPM untouched.
 */
export class TpmFaultProxy {
  private server: Server | undefined;
  private faults: { code: number | undefined; fault: Fault }[] = [];
  private readonly sockets = new Set<Socket>();
  /** Command codes seen, in order. */
  readonly commands: number[] = [];
  port = 0;

  constructor(private readonly tpmPort: number) {}

  get tcti(): string {
    return `swtpm:host=127.0.0.1,port=${this.port}`;
  }

  /** Breaks the next command with `code` (any command when undefined). */
  inject(fault: Fault, code?: number): void {
    this.faults.push({ code, fault });
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((client) => this.serve(client));
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(client: Socket): void {
    const upstream = connect(this.tpmPort, '127.0.0.1');
    upstream.setNoDelay(true);
    this.sockets.add(client).add(upstream);
    let pending = Buffer.alloc(0);
    let hung = false;

    upstream.on('data', (data) => { if (!hung) client.write(data); });
    client.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 10 && pending.length >= pending.readUInt32BE(2)) {
        const size = pending.readUInt32BE(2);
        const command = pending.subarray(0, size);
        pending = pending.subarray(size);
        const code = command.readUInt32BE(6);
        this.commands.push(code);
        const at = this.faults.findIndex((f) => f.code === undefined || f.code === code);
        const fault = at >= 0 ? this.faults.splice(at, 1)[0]?.fault : undefined;
        if (!fault) {
          upstream.write(command);
        } else if (fault.kind === 'hang') {
          hung = true;
        } else if (fault.kind === 'close') {
          client.destroy();
        } else if (fault.kind === 'garble') {
          client.write(fault.bytes);
        } else {
          const reply = Buffer.alloc(10);
          reply.writeUInt16BE(0x8001, 0);
          reply.writeUInt32BE(10, 2);
          reply.writeUInt32BE(fault.rc, 6);
          client.write(reply);
        }
      }
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}
