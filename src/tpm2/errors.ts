import { describeResponseCode } from './response-codes';

/** Base class of every error this module throws. */
export class Tpm2Error extends Error {
  override name = 'Tpm2Error';
}

/** The TPM answered, and the answer was an error code. */
export class TpmResponseError extends Tpm2Error {
  override name = 'TpmResponseError';
  /** The raw response code. */
  readonly rc: number;
  /** Symbolic name such as TPM_RC_HANDLE. */
  readonly code: string;
  readonly command: string;

  /** `authorized`: the handles the command's sessions authorized, in order. */
  constructor(command: string, rc: number, authorized: readonly number[] = []) {
    const info = describeResponseCode(rc, authorized);
    const where = info.position ? ` (${info.position})` : '';
    const fix = info.fix ? `; ${info.fix}` : '';
    super(`${command} failed: ${info.name}${where}: ${info.text}${fix} [rc 0x${hex(rc)}]`);
    this.rc = rc;
    this.code = info.name;
    this.command = command;
  }

  /** The error number without the handle/parameter/session position bits. */
  get base(): number {
    return describeResponseCode(this.rc).base;
  }
}

/** The TPM could not be reached, or the connection broke. */
export class TpmTransportError extends Tpm2Error {
  override name = 'TpmTransportError';

  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** No answer within the command timeout. */
export class TpmTimeoutError extends TpmTransportError {
  override name = 'TpmTimeoutError';
}

/** The bytes that came back are not a TPM response. */
export class TpmFormatError extends Tpm2Error {
  override name = 'TpmFormatError';
}

export function hex(value: number, width = 3): string {
  return value.toString(16).padStart(width, '0');
}
