/** Command codes (TPM 2.0 Part 2, section 6.5). */
export const CC = {
  NV_UndefineSpace: 0x122,
  EvictControl: 0x120,
  NV_DefineSpace: 0x12a,
  CreatePrimary: 0x131,
  NV_Write: 0x137,
  SequenceComplete: 0x13e,
  Startup: 0x144,
  NV_Read: 0x14e,
  Create: 0x153,
  HMAC: 0x155,
  Load: 0x157,
  HMAC_Start: 0x15b,
  SequenceUpdate: 0x15c,
  FlushContext: 0x165,
  NV_ReadPublic: 0x169,
  ReadPublic: 0x173,
  GetCapability: 0x17a,
  GetRandom: 0x17b,
} as const;

export type CommandCode = (typeof CC)[keyof typeof CC];

export const TAG = { NO_SESSIONS: 0x8001, SESSIONS: 0x8002 } as const;

/** Permanent handles. */
export const RH = {
  OWNER: 0x40000001,
  NULL: 0x40000007,
  PW: 0x40000009,
} as const;

export const HANDLE_RANGE = {
  NV_INDEX: 0x01000000,
  TRANSIENT: 0x80000000,
  PERSISTENT: 0x81000000,
} as const;

export const ALG = {
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  SHA256: 0x000b,
  NULL: 0x0010,
  HMAC: 0x0005,
  ECC: 0x0023,
  CFB: 0x0043,
} as const;

export const ECC_NIST_P256 = 0x0003;

/** TPMA_OBJECT bits. */
export const OBJECT_ATTR = {
  fixedTPM: 0x2,
  fixedParent: 0x10,
  sensitiveDataOrigin: 0x20,
  userWithAuth: 0x40,
  noDA: 0x400,
  restricted: 0x10000,
  decrypt: 0x20000,
  sign: 0x40000,
} as const;

/** TPMA_NV bits. */
export const NV_ATTR = {
  OWNERWRITE: 0x2,
  AUTHWRITE: 0x4,
  OWNERREAD: 0x20000,
  AUTHREAD: 0x40000,
  NO_DA: 0x2000000,
  WRITTEN: 0x20000000,
} as const;

export const CAP = { HANDLES: 1, TPM_PROPERTIES: 6 } as const;

/** TPM_PT values (TPM 2.0 Part 2, section 6.13). */
export const PT = {
  FAMILY_INDICATOR: 0x100,
  REVISION: 0x102,
  MANUFACTURER: 0x105,
  VENDOR_STRING_1: 0x106,
  VENDOR_STRING_4: 0x109,
  FIRMWARE_VERSION_1: 0x10b,
  FIRMWARE_VERSION_2: 0x10c,
  INPUT_BUFFER: 0x10d,
  NV_BUFFER_MAX: 0x12c,
  // TPM_PT_VAR: the state of this TPM now, 0x200..0x209.
  PERMANENT: 0x200,
  STARTUP_CLEAR: 0x201,
  HR_PERSISTENT_AVAIL: 0x209,
} as const;

export const STARTUP_CLEAR = 0x0000;

/** The largest response any TPM we talk to produces; anything longer is garbage. */
export const MAX_RESPONSE_SIZE = 4096;
export const HEADER_SIZE = 10;
