import { createHash } from 'node:crypto';
import {
  OBJECT_ATTR as A, PT, Tpm, createObject, createPrimaryStorageKey, evictPersistent,
  flushContext, getProperty, getTpmInfo, hmacKeyTemplate, hmacSha256, loadObject,
  persistObject, type Executor, type TpmInfo,
} from '../tpm2';
import { DeviceConnectionString, parseConnectionString } from './connection-string';
import { ForeignObjectError, NotProvisionedError } from './errors';
import {
  checkSlot, encodeExtras, encodeIdentity, extrasIndex, identityIndex, keyHandle,
  type DeviceIdentity,
} from './layout';
import { replaceNv } from './nv-replace';
import { createSasToken, type SasToken } from './sas';
import { classify, readSlot, type SlotState } from './slot-contents';

// fixedTPM|fixedParent: the key can never be duplicated out of this TPM. No
// sensitiveDataOrigin: the TPM refuses supplied key bytes with it (rc 0x2c2).
const KEY_ATTRIBUTES = A.fixedTPM | A.fixedParent | A.userWithAuth | A.noDA | A.sign;

// HMAC defines a key longer than the hash block as the hash of that key, and the TPM
// refuses such long keys (TPM_RC_SIZE), so storing the digest gives the same HMAC.
const SHA256_BLOCK = 64;

export interface ProvisionOptions {
  /** Replace an object at the slot that we did not make. */
  readonly force?: boolean;
}

/** Device identities in a TPM, one per slot, in the Limpet layout. */
export class IdentityStore {
  private inputBuffer: number | undefined;

  constructor(readonly tpm: Tpm) {}

  async inspect(slot: number): Promise<SlotState> {
    checkSlot(slot);
    return classify(slot, await this.tpm.transaction((tx) => readSlot(tx, slot)));
  }

  /** The identity in a slot; NotProvisionedError or ForeignObjectError otherwise. */
  async read(slot: number): Promise<DeviceIdentity> {
    const state = await this.inspect(slot);
    switch (state.kind) {
      case 'provisioned': return state.identity;
      case 'foreign': throw new ForeignObjectError(slot, state.detail);
      case 'incomplete': throw new NotProvisionedError(slot, `is incomplete (${state.detail})`);
      case 'empty': throw new NotProvisionedError(slot);
    }
  }

  /**
   * Stores a device identity. The string is parsed before the TPM is touched, and all
   * that can fail on the TPM (creating and loading the key) happens before the slot
   * changes; if a later step fails, the NV indices are put back as they were.
   */
  async provision(
    slot: number, connection: string | DeviceConnectionString, options: ProvisionOptions = {},
  ): Promise<DeviceIdentity> {
    checkSlot(slot);
    const parsed = typeof connection === 'string'
      ? parseConnectionString(connection) : connection;
    const identity: DeviceIdentity = parsed.toJSON();

    return this.tpm.transaction(async (tx) => {
      const contents = await readSlot(tx, slot);
      const state = classify(slot, contents);
      if (state.kind === 'foreign' && !options.force) {
        throw new ForeignObjectError(slot, state.detail);
      }

      const loaded = await loadHmacKey(tx, parsed);
      try {
        const undoIdentity = await replaceNv(
          tx, identityIndex(slot), encodeIdentity(identity), contents.identity);
        const undoExtras = await replaceNv(
          tx, extrasIndex(slot), encodeExtras(identity), contents.extras);
        try {
          if (contents.key) await evictPersistent(tx, keyHandle(slot));
          await persistObject(tx, loaded, keyHandle(slot));
        } catch (err) {
          await undoExtras();
          await undoIdentity();
          throw err;
        }
      } finally {
        await flushContext(tx, loaded).catch(() => undefined);
      }
      return identity;
    });
  }

  /** Empties a slot; false when there was nothing to remove. */
  async clear(slot: number, options: ProvisionOptions = {}): Promise<boolean> {
    checkSlot(slot);
    return this.tpm.transaction(async (tx) => {
      const contents = await readSlot(tx, slot);
      const state = classify(slot, contents);
      if (state.kind === 'foreign' && !options.force) {
        throw new ForeignObjectError(slot, state.detail);
      }
      if (contents.key) await evictPersistent(tx, keyHandle(slot));
      await replaceNv(tx, identityIndex(slot), undefined, contents.identity);
      await replaceNv(tx, extrasIndex(slot), undefined, contents.extras);
      return state.kind !== 'empty';
    });
  }

  /** HMAC-SHA256 with the slot's key, computed inside the TPM. */
  async sign(slot: number, data: Buffer): Promise<Buffer> {
    const key = keyHandle(slot);
    const inputBuffer = await this.getInputBuffer();
    try {
      return await this.tpm.transaction((tx) => hmacSha256(tx, key, data, inputBuffer));
    } catch (err) {
      // A missing key shows as a bad handle; say what the user can do about it.
      if (err instanceof Error && 'base' in err && err.base === 0x08b) {
        throw new NotProvisionedError(slot);
      }
      throw err;
    }
  }

  /** A SAS token for the slot's identity, signed inside the TPM. */
  async sasToken(slot: number, ttlSeconds: number, nowMs = Date.now()): Promise<SasToken> {
    const identity = await this.read(slot);
    return createSasToken(identity, ttlSeconds, (data) => this.sign(slot, data), nowMs);
  }

  info(): Promise<TpmInfo> {
    return getTpmInfo(this.tpm);
  }

  private async getInputBuffer(): Promise<number> {
    this.inputBuffer ??= (await getProperty(this.tpm, PT.INPUT_BUFFER)) ?? 1024;
    return this.inputBuffer;
  }
}

/** Creates the HMAC key under a fresh primary and loads it; returns its transient handle. */
async function loadHmacKey(tx: Executor, parsed: DeviceConnectionString): Promise<number> {
  const raw = parsed.keyBytes();
  const sensitive = raw.length > SHA256_BLOCK ? createHash('sha256').update(raw).digest() : raw;
  const primary = await createPrimaryStorageKey(tx);
  try {
    const created = await createObject(tx, primary, hmacKeyTemplate(KEY_ATTRIBUTES), sensitive);
    return await loadObject(tx, primary, created);
  } finally {
    raw.fill(0);
    sensitive.fill(0);
    await flushContext(tx, primary).catch(() => undefined);
  }
}
