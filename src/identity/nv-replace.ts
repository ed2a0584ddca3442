import { NV_ATTR, nvDefineSpace, nvUndefineSpace, nvWrite, type Executor } from '../tpm2';
import { IDENTITY_NV_ATTRIBUTES } from './layout';
import type { NvContents } from './slot-contents';

/**
 * Puts `data` into an NV index sized to it (as Limpet does), or removes the index when
 * `data` is undefined. If that fails, or later when the returned function is called,
 * the index is put back as it was.
 */
export async function replaceNv(
  tx: Executor, index: number, data: Buffer | undefined, previous: NvContents | undefined,
): Promise<() => Promise<void>> {
  if (!data && !previous) return async () => undefined;

  const restore = async (): Promise<void> => {
    if (data) await nvUndefineSpace(tx, index).catch(() => undefined);
    if (!previous) return;
    const attributes = previous.public.attributes & ~NV_ATTR.WRITTEN;
    await nvDefineSpace(tx, index, attributes, previous.public.size);
    if (previous.data) await nvWrite(tx, index, previous.data);
  };

  try {
    if (previous) await nvUndefineSpace(tx, index);
    if (data) {
      await nvDefineSpace(tx, index, IDENTITY_NV_ATTRIBUTES, data.length);
      await nvWrite(tx, index, data);
    }
  } catch (err) {
    await restore().catch(() => undefined);
    throw err;
  }
  return restore;
}
