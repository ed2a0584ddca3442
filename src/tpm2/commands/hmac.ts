import { ALG, CC, RH } from '../constants';
import type { Executor } from '../client';
import { Writer } from '../marshal';
import { flushContext } from './objects';

/**
 * HMAC-SHA256 of `data` with a loaded or persistent key. Input over the TPM's input
 * buffer goes through an HMAC sequence, whose handle is flushed if anything fails.
 * Pass a transaction executor so that no other command lands inside the sequence.
 */
export async function hmacSha256(
  tpm: Executor, key: number, data: Buffer, inputBuffer: number,
): Promise<Buffer> {
  if (data.length <= inputBuffer) {
    const { params } = await tpm.run({
      code: CC.HMAC, name: 'TPM2_HMAC', handles: [key], sessions: 1,
      params: new Writer().sized(data).u16(ALG.SHA256).toBuffer(),
    });
    return params.sized();
  }

  const start = await tpm.run({
    code: CC.HMAC_Start, name: 'TPM2_HMAC_Start', handles: [key], sessions: 1,
    params: new Writer().sized(Buffer.alloc(0)).u16(ALG.SHA256).toBuffer(),
    outHandles: 1,
  });
  const sequence = start.handles[0];
  if (sequence === undefined) throw new Error('TPM2_HMAC_Start returned no handle');

  try {
    let offset = 0;
    // Keep at least one byte for SequenceComplete, which takes the last chunk.
    while (data.length - offset > inputBuffer) {
      await tpm.run({
        code: CC.SequenceUpdate, name: 'TPM2_SequenceUpdate', handles: [sequence], sessions: 1,
        params: new Writer().sized(data.subarray(offset, offset + inputBuffer)).toBuffer(),
      });
      offset += inputBuffer;
    }
    const { params } = await tpm.run({
      code: CC.SequenceComplete, name: 'TPM2_SequenceComplete',
      handles: [sequence], sessions: 1,
      params: new Writer().sized(data.subarray(offset)).u32(RH.NULL).toBuffer(),
    });
    return params.sized();
  } catch (err) {
    // SequenceComplete flushes the sequence itself; after a failure it may still exist.
    await flushContext(tpm, sequence).catch(() => undefined);
    throw err;
  }
}
