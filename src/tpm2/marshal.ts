import { TpmFormatError } from './errors';

/** Builds big-endian TPM structures. */
export class Writer {
  private readonly chunks: Buffer[] = [];

  u8(value: number): this {
    return this.push(Buffer.from([value & 0xff]));
  }

  u16(value: number): this {
    const buf = Buffer.alloc(2);
    buf.writeUInt16BE(value);
    return this.push(buf);
  }

  u32(value: number): this {
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(value >>> 0);
    return this.push(buf);
  }

  bytes(data: Buffer): this {
    return this.push(data);
  }

  /** A TPM2B: u16 size, then the bytes. */
  sized(data: Buffer): this {
    return this.u16(data.length).push(data);
  }

  /** A TPM2B around a structure built by `build`. */
  sizedWith(build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.sized(inner.toBuffer());
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }

  private push(buf: Buffer): this {
    this.chunks.push(buf);
    return this;
  }
}

/** Reads big-endian TPM structures; running past the end is a format error, never a crash. */
export class Reader {
  private offset = 0;

  constructor(private readonly buf: Buffer, private readonly what = 'response') {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  u8(): number {
    return this.take(1).readUInt8(0);
  }

  u16(): number {
    return this.take(2).readUInt16BE(0);
  }

  u32(): number {
    return this.take(4).readUInt32BE(0);
  }

  bytes(length: number): Buffer {
    return Buffer.from(this.take(length));
  }

  /** A TPM2B. */
  sized(): Buffer {
    return this.bytes(this.u16());
  }

  /** A TPM2B read as a nested structure. */
  sizedReader(what: string): Reader {
    return new Reader(this.sized(), what);
  }

  private take(length: number): Buffer {
    if (length > this.remaining) {
      throw new TpmFormatError(
        `truncated ${this.what}: wanted ${length} bytes at offset ${this.offset}, ` +
          `${this.remaining} left`,
      );
    }
    const slice = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }
}
