/** What a person needs to know about one TPM response code. */
export interface ResponseCodeInfo {
  /** The code without position bits, e.g. 0x08b for any TPM_RC_HANDLE. */
  readonly base: number;
  readonly name: string;
  readonly text: string;
  /** "handle 1", "parameter 2" or "session 1" for format-one codes. */
  readonly position?: string;
  readonly fix?: string;
}

type Entry = readonly [name: string, text: string, fix?: string];

// TPM 2.0 Part 2, section 6.6 (TPM_RC). Only codes we can meet or that need a fix named.
const CODES: ReadonlyMap<number, Entry> = new Map<number, Entry>([
  [0x100, ['TPM_RC_INITIALIZE', 'TPM not started',
    'send TPM2_Startup (swtpm: start it with --flags startup-clear)']],
  [0x101, ['TPM_RC_FAILURE', 'TPM in failure mode or not initialised',
    'swtpm: start it with --flags not-need-init; a chip: reboot']],
  [0x103, ['TPM_RC_SEQUENCE', 'improper use of a sequence handle']],
  [0x120, ['TPM_RC_DISABLED', 'the command is disabled']],
  [0x124, ['TPM_RC_AUTH_TYPE', 'authorization handle is not correct for the command']],
  [0x125, ['TPM_RC_AUTH_MISSING', 'command needs an authorization session']],
  [0x126, ['TPM_RC_POLICY', 'policy failure']],
  [0x12f, ['TPM_RC_AUTH_UNAVAILABLE', 'authValue or authPolicy is not available']],
  [0x130, ['TPM_RC_REBOOT', 'the TPM must be restarted']],
  [0x142, ['TPM_RC_COMMAND_SIZE', 'command size does not match the bytes received',
    'send each command in a single write']],
  [0x143, ['TPM_RC_COMMAND_CODE', 'command not supported by this TPM']],
  [0x144, ['TPM_RC_AUTHSIZE', 'authorization area size is wrong']],
  [0x146, ['TPM_RC_NV_RANGE', 'NV offset and size out of range']],
  [0x147, ['TPM_RC_NV_SIZE', 'NV data larger than the index or the TPM allows']],
  [0x148, ['TPM_RC_NV_LOCKED', 'NV index is locked']],
  [0x149, ['TPM_RC_NV_AUTHORIZATION', 'NV access not authorized']],
  [0x14a, ['TPM_RC_NV_UNINITIALIZED', 'NV index has never been written']],
  [0x14b, ['TPM_RC_NV_SPACE', 'no NV space left', 'remove unused NV indices']],
  [0x14c, ['TPM_RC_NV_DEFINED', 'NV index is already defined']],
  [0x152, ['TPM_RC_PARENT', 'the parent is not a storage key']],
  [0x081, ['TPM_RC_ASYMMETRIC', 'asymmetric algorithm not supported or not correct']],
  [0x082, ['TPM_RC_ATTRIBUTES', 'inconsistent attributes']],
  [0x083, ['TPM_RC_HASH', 'hash algorithm not supported or not appropriate']],
  [0x084, ['TPM_RC_VALUE', 'value out of range or not correct for the context']],
  [0x085, ['TPM_RC_HIERARCHY', 'hierarchy is not enabled or not correct for the use',
    'a disabled hierarchy (tpm2_hierarchycontrol) is enabled again when the TPM restarts']],
  [0x087, ['TPM_RC_KEY_SIZE', 'key size not supported']],
  [0x08a, ['TPM_RC_TYPE', 'the type of the value is not appropriate']],
  [0x08b, ['TPM_RC_HANDLE', 'the handle does not refer to a loaded object']],
  [0x08e, ['TPM_RC_AUTH_FAIL', 'authorization failed']],
  [0x092, ['TPM_RC_SCHEME', 'unsupported or incompatible scheme']],
  [0x095, ['TPM_RC_SIZE', 'structure is the wrong size']],
  [0x096, ['TPM_RC_SYMMETRIC', 'unsupported symmetric algorithm or key size']],
  [0x097, ['TPM_RC_TAG', 'incorrect structure tag']],
  [0x098, ['TPM_RC_SELECTOR', 'union selector is incorrect']],
  [0x09a, ['TPM_RC_INSUFFICIENT', 'the TPM could not unmarshal a value: input too short']],
  [0x09c, ['TPM_RC_KEY', 'key fields are not compatible with the selected use']],
  [0x0a2, ['TPM_RC_BAD_AUTH', 'authorization failure without dictionary-attack tracking']],
  [0x0a6, ['TPM_RC_CURVE', 'curve not supported']],
  [0x901, ['TPM_RC_CONTEXT_GAP', 'session context gap too large']],
  [0x902, ['TPM_RC_OBJECT_MEMORY', 'out of memory for transient objects',
    'a program left transient objects loaded; flush them (tpm2_flushcontext -t)']],
  [0x903, ['TPM_RC_SESSION_MEMORY', 'out of memory for sessions',
    'flush sessions (tpm2_flushcontext -s)']],
  [0x904, ['TPM_RC_MEMORY', 'out of memory']],
  [0x908, ['TPM_RC_YIELDED', 'the TPM yielded; send the command again']],
  [0x909, ['TPM_RC_CANCELED', 'the command was canceled']],
  [0x90a, ['TPM_RC_TESTING', 'the TPM is self-testing; send the command again']],
  [0x920, ['TPM_RC_NV_RATE', 'NV writes are rate-limited; try again later']],
  [0x921, ['TPM_RC_LOCKOUT', 'the TPM is in dictionary-attack lockout',
    'wait for the lockout to end or reset it (tpm2_dictionarylockout -c)']],
  [0x922, ['TPM_RC_RETRY', 'the TPM asks for the command to be sent again']],
  [0x923, ['TPM_RC_NV_UNAVAILABLE', 'NV is not available']],
]);

// Hierarchies whose password a command may have been refused (TPM 2.0 Part 2, TPM_RH).
const HIERARCHIES: ReadonlyMap<number, string> = new Map([
  [0x40000001, 'owner'],
  [0x4000000a, 'lockout'],
  [0x4000000b, 'endorsement'],
  [0x4000000c, 'platform'],
]);
const AUTH_FAILURES: ReadonlySet<number> = new Set([0x08e, 0x0a2]);

/** Warnings after which the same command may simply be sent again. */
export const RESEND_CODES: ReadonlySet<number> = new Set([0x922, 0x908, 0x90a]);

/**
 * Splits a response code into its error number and the handle, parameter or session it is
 * about (TPM 2.0 Part 2, section 6.6.2: format one when bit 7 is set). `authorized` are
 * the handles the command's sessions authorized, in order: a refused password on a
 * hierarchy has a fix of its own.
 */
export function describeResponseCode(
  rc: number, authorized: readonly number[] = [],
): ResponseCodeInfo {
  let base = rc;
  let position: string | undefined;
  if (rc & 0x80) {
    base = 0x80 + (rc & 0x3f);
    const n = (rc >> 8) & 0xf;
    if (rc & 0x40) position = `parameter ${n}`;
    else if (n & 0x8) position = `session ${n & 0x7}`;
    else if (n > 0) position = `handle ${n}`;
  }
  const entry = CODES.get(base);
  const name = entry?.[0] ?? `TPM_RC_0x${base.toString(16)}`;
  const text = entry?.[1] ?? (rc & 0x80 || rc & 0x100 ? 'TPM error' : 'vendor or legacy error');
  const fix = hierarchyFix(base, position, authorized) ?? entry?.[2];
  return { base, name, text, ...(position ? { position } : {}), ...(fix ? { fix } : {}) };
}

// Everything here uses empty hierarchy passwords, as Windows IoT Core did; a TPM whose
// owner has set one refuses the first command that needs the owner.
function hierarchyFix(base: number, position: string | undefined,
  authorized: readonly number[]): string | undefined {
  const session = /^session (\d)$/.exec(position ?? '');
  if (!AUTH_FAILURES.has(base) || !session) return undefined;
  const hierarchy = HIERARCHIES.get(authorized[Number(session[1]) - 1] ?? 0);
  if (!hierarchy) return undefined;
  return `the TPM's ${hierarchy} hierarchy has a password, and keys are stored with the ` +
    `empty one; remove it (tpm2_changeauth -c ${hierarchy} -p <current password>) or use ` +
    'another TPM';
}
