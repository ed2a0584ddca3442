import {
  ALG, NV_ATTR, TpmResponseError, nvRead, nvReadPublic, readPublic,
  type Executor, type NvPublic, type PublicArea,
} from '../tpm2';
import {
  decodeExtras, decodeIdentity, extrasIndex, identityIndex, keyHandle,
  type DeviceIdentity,
} from './layout';

/** One NV index as found: its public area and, once written, its data. */
export interface NvContents {
  readonly public: NvPublic;
  readonly data?: Buffer;
}

/** What the TPM holds at a slot's handle and indices, before any judgement. */
export interface SlotContents {
  readonly key?: PublicArea;
  readonly identity?: NvContents;
  readonly extras?: NvContents;
}

export type SlotState =
  | { readonly kind: 'empty' }
  | { readonly kind: 'provisioned'; readonly identity: DeviceIdentity }
  /** Ours, but half there (e.g. the key was removed by another tool). */
  | { readonly kind: 'incomplete'; readonly detail: string }
  /** Something we did not make. */
  | { readonly kind: 'foreign'; readonly detail: string };

const TPM_RC_HANDLE = 0x08b;

export async function readSlot(tpm: Executor, slot: number): Promise<SlotContents> {
  const key = await absentOnBadHandle(readPublic(tpm, keyHandle(slot)));
  const identity = await readNv(tpm, identityIndex(slot));
  const extras = await readNv(tpm, extrasIndex(slot));
  return { ...(key && { key }), ...(identity && { identity }), ...(extras && { extras }) };
}

async function readNv(tpm: Executor, index: number): Promise<NvContents | undefined> {
  const pub = await absentOnBadHandle(nvReadPublic(tpm, index));
  if (!pub) return undefined;
  const readable = pub.attributes & NV_ATTR.AUTHREAD && pub.attributes & NV_ATTR.WRITTEN;
  if (!readable || pub.size === 0) return { public: pub };
  return { public: pub, data: await nvRead(tpm, index, pub.size) };
}

async function absentOnBadHandle<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof TpmResponseError && err.base === TPM_RC_HANDLE) return undefined;
    throw err;
  }
}

/** Tells ours (or Limpet's) from what another program left at the same place. */
export function classify(slot: number, contents: SlotContents): SlotState {
  const { key, identity, extras } = contents;
  const keyAt = `persistent handle 0x${keyHandle(slot).toString(16)}`;
  const nvAt = `NV index 0x${identityIndex(slot).toString(16).padStart(8, '0')}`;

  if (key && !isHmacKey(key)) return { kind: 'foreign', detail: `${keyAt} holds ${describe(key)}` };
  const decoded = identity && ourNv(identity) ? decodeIdentity(identity.data) : undefined;
  if (identity && !decoded) {
    return { kind: 'foreign', detail: `${nvAt} holds data that is not a device identity` };
  }
  if (extras && !(ourNv(extras) && extras.data.toString('utf8').includes('='))) {
    const at = `NV index 0x${extrasIndex(slot).toString(16).padStart(8, '0')}`;
    return { kind: 'foreign', detail: `${at} holds data that is not ours` };
  }
  if (key && !decoded) {
    return { kind: 'foreign', detail: `${keyAt} holds an HMAC key with no identity beside it` };
  }
  if (decoded && !key) {
    return { kind: 'incomplete', detail: `the key of device ${decoded.deviceId} is missing` };
  }
  if (!decoded) return { kind: 'empty' };
  const gateway = extras?.data ? decodeExtras(extras.data) : {};
  return { kind: 'provisioned', identity: { ...decoded, ...gateway } };
}

function ourNv(nv: NvContents): nv is NvContents & { data: Buffer } {
  const both = NV_ATTR.AUTHREAD | NV_ATTR.AUTHWRITE;
  return (nv.public.attributes & both) === both && nv.data !== undefined;
}

function isHmacKey(key: PublicArea): boolean {
  return key.type === ALG.KEYEDHASH && key.keyedHashScheme?.scheme === ALG.HMAC &&
    key.keyedHashScheme.hashAlg === ALG.SHA256;
}

function describe(key: PublicArea): string {
  const names: Record<number, string> = { 0x0001: 'an RSA key', 0x0023: 'an ECC key',
    0x0025: 'a symmetric cipher key', 0x0008: 'a keyed-hash object that is not an HMAC key' };
  return names[key.type] ?? `an object of type 0x${key.type.toString(16)}`;
}
