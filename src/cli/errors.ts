import { ConnectionStringError, IdentityArgumentError } from '../identity';
import { TctiError } from '../tpm2';

/** Exit codes: 0 success, 1 TPM or I/O failure, 2 bad usage or input. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ConnectionStringError || err instanceof IdentityArgumentError ||
    err instanceof TctiError) {
    return EXIT.USAGE;
  }
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
    return EXIT.USAGE;
  }
  return EXIT.FAILURE;
}
