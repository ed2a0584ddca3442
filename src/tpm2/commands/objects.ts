import { ALG, CC, ECC_NIST_P256, OBJECT_ATTR as A, RH } from '../constants';
import type { Executor } from '../client';
import { Reader, Writer } from '../marshal';

/** The parts of a TPMT_PUBLIC we look at to recognise an object. */
export interface PublicArea {
  readonly type: number;
  readonly nameAlg: number;
  readonly attributes: number;
  /** Keyed-hash objects: the scheme (HMAC 0x0005, XOR, NULL) and its hash. */
  readonly keyedHashScheme?: { readonly scheme: number; readonly hashAlg?: number };
}

export interface CreatedObject {
  readonly private: Buffer;
  readonly public: Buffer;
}

// The common ECC P-256 storage key template (as tpm2_createprimary -G ecc builds it):
// restricted decrypt, AES-128-CFB, no signing scheme.
const STORAGE_ATTRIBUTES = A.fixedTPM | A.fixedParent | A.sensitiveDataOrigin |
  A.userWithAuth | A.noDA | A.restricted | A.decrypt;

function eccStorageTemplate(): Buffer {
  return new Writer()
    .u16(ALG.ECC).u16(ALG.SHA256).u32(STORAGE_ATTRIBUTES)
    .sized(Buffer.alloc(0))
    .u16(ALG.AES).u16(128).u16(ALG.CFB)
    .u16(ALG.NULL)
    .u16(ECC_NIST_P256)
    .u16(ALG.NULL)
    .sized(Buffer.alloc(0)).sized(Buffer.alloc(0))
    .toBuffer();
}

/** An HMAC-SHA256 key template with the given attributes. */
export function hmacKeyTemplate(attributes: number): Buffer {
  return new Writer()
    .u16(ALG.KEYEDHASH).u16(ALG.SHA256).u32(attributes)
    .sized(Buffer.alloc(0))
    .u16(ALG.HMAC).u16(ALG.SHA256)
    .sized(Buffer.alloc(0))
    .toBuffer();
}

function sensitiveCreate(data: Buffer): Buffer {
  return new Writer().sizedWith((w) => w.sized(Buffer.alloc(0)).sized(data)).toBuffer();
}

/** TPM2_CreatePrimary of an ECC storage key under the owner hierarchy; transient handle. */
export async function createPrimaryStorageKey(tpm: Executor): Promise<number> {
  const params = new Writer()
    .bytes(sensitiveCreate(Buffer.alloc(0)))
    .sized(eccStorageTemplate())
    .sized(Buffer.alloc(0))
    .u32(0)
    .toBuffer();
  const response = await tpm.run({
    code: CC.CreatePrimary, name: 'TPM2_CreatePrimary',
    handles: [RH.OWNER], sessions: 1, params, outHandles: 1,
  });
  return firstHandle(response.handles);
}

/** TPM2_Create of an object whose sensitive data we supply (e.g. HMAC key bytes). */
export async function createObject(
  tpm: Executor, parent: number, template: Buffer, sensitive: Buffer,
): Promise<CreatedObject> {
  const params = new Writer()
    .bytes(sensitiveCreate(sensitive))
    .sized(template)
    .sized(Buffer.alloc(0))
    .u32(0)
    .toBuffer();
  const { params: out } = await tpm.run({
    code: CC.Create, name: 'TPM2_Create', handles: [parent], sessions: 1, params,
  });
  const privatePart = out.sized();
  const publicPart = out.sized();
  return { private: privatePart, public: publicPart };
}

export async function loadObject(
  tpm: Executor, parent: number, object: CreatedObject,
): Promise<number> {
  const params = new Writer().sized(object.private).sized(object.public).toBuffer();
  const response = await tpm.run({
    code: CC.Load, name: 'TPM2_Load', handles: [parent], sessions: 1, params, outHandles: 1,
  });
  return firstHandle(response.handles);
}

/** Makes a loaded object persistent at `persistent`. */
export async function persistObject(
  tpm: Executor, transient: number, persistent: number,
): Promise<void> {
  await tpm.run({
    code: CC.EvictControl, name: 'TPM2_EvictControl',
    handles: [RH.OWNER, transient], sessions: 1,
    params: new Writer().u32(persistent).toBuffer(),
  });
}

/** Removes a persistent object (EvictControl with the persistent handle itself). */
export async function evictPersistent(tpm: Executor, persistent: number): Promise<void> {
  await persistObject(tpm, persistent, persistent);
}

export async function readPublic(tpm: Executor, handle: number): Promise<PublicArea> {
  const { params } = await tpm.run({
    code: CC.ReadPublic, name: 'TPM2_ReadPublic', handles: [handle],
  });
  return parsePublic(params.sizedReader('TPMT_PUBLIC'));
}

export function parsePublic(reader: Reader): PublicArea {
  const type = reader.u16();
  const nameAlg = reader.u16();
  const attributes = reader.u32();
  reader.sized();
  if (type !== ALG.KEYEDHASH) return { type, nameAlg, attributes };
  const scheme = reader.u16();
  if (scheme === ALG.NULL) return { type, nameAlg, attributes, keyedHashScheme: { scheme } };
  return { type, nameAlg, attributes, keyedHashScheme: { scheme, hashAlg: reader.u16() } };
}

export async function flushContext(tpm: Executor, handle: number): Promise<void> {
  await tpm.run({
    code: CC.FlushContext, name: 'TPM2_FlushContext',
    params: new Writer().u32(handle).toBuffer(),
  });
}

function firstHandle(handles: readonly number[]): number {
  const handle = handles[0];
  if (handle === undefined) throw new Error('TPM response carried no handle');
  return handle;
}
