import { HEADER_SIZE, MAX_RESPONSE_SIZE, TAG } from '../constants';
import { TpmFormatError } from '../errors';

/** Moves one command to the TPM and its one response back. Callers never overlap. */
export interface Transport {
  /** Where the TPM is, for messages: "/dev/tpmrm0", "swtpm at 127.0.0.1:2321". */
  readonly description: string;
  /** Simulators need TPM2_Startup; the kernel already sent it for a device. */
  readonly needsStartup: boolean;
  transmit(command: Buffer, timeoutMs: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Reads the size field of a response header, refusing anything that cannot be one. */
export function responseSize(header: Buffer): number {
  const tag = header.readUInt16BE(0);
  const size = header.readUInt32BE(2);
  if (tag !== TAG.NO_SESSIONS && tag !== TAG.SESSIONS) {
    throw new TpmFormatError(`garbled response: tag 0x${tag.toString(16)} is not a TPM tag`);
  }
  if (size < HEADER_SIZE || size > MAX_RESPONSE_SIZE) {
    throw new TpmFormatError(`garbled response: size ${size} out of range`);
  }
  return size;
}

/** Checks that a whole response agrees with its own header. */
export function checkResponse(response: Buffer): Buffer {
  if (response.length < HEADER_SIZE) {
    throw new TpmFormatError(`short response: ${response.length} bytes`);
  }
  const size = responseSize(response);
  if (size !== response.length) {
    throw new TpmFormatError(`response says ${size} bytes but ${response.length} arrived`);
  }
  return response;
}
