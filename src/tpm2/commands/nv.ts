import { ALG, CC, RH } from '../constants';
import type { Executor } from '../client';
import { Writer } from '../marshal';

export interface NvPublic {
  readonly index: number;
  readonly nameAlg: number;
  readonly attributes: number;
  readonly size: number;
}

// Stay well under every TPM's TPM_PT_NV_BUFFER_MAX (swtpm: 1024; some chips: 512 or less).
const NV_CHUNK = 256;

export async function nvDefineSpace(
  tpm: Executor, index: number, attributes: number, size: number,
): Promise<void> {
  const params = new Writer()
    .sized(Buffer.alloc(0))
    .sizedWith((w) => w.u32(index).u16(ALG.SHA256).u32(attributes).sized(Buffer.alloc(0)).u16(size))
    .toBuffer();
  await tpm.run({
    code: CC.NV_DefineSpace, name: 'TPM2_NV_DefineSpace',
    handles: [RH.OWNER], sessions: 1, params,
  });
}

export async function nvUndefineSpace(tpm: Executor, index: number): Promise<void> {
  await tpm.run({
    code: CC.NV_UndefineSpace, name: 'TPM2_NV_UndefineSpace',
    handles: [RH.OWNER, index], sessions: 1,
  });
}

export async function nvReadPublic(tpm: Executor, index: number): Promise<NvPublic> {
  const { params } = await tpm.run({
    code: CC.NV_ReadPublic, name: 'TPM2_NV_ReadPublic', handles: [index],
  });
  const pub = params.sizedReader('TPMS_NV_PUBLIC');
  const nvIndex = pub.u32();
  const nameAlg = pub.u16();
  const attributes = pub.u32();
  pub.sized();
  return { index: nvIndex, nameAlg, attributes, size: pub.u16() };
}

/** Writes with the index's own (empty) authorization, as AUTHWRITE indices want. */
export async function nvWrite(tpm: Executor, index: number, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; offset += NV_CHUNK) {
    const params = new Writer()
      .sized(data.subarray(offset, offset + NV_CHUNK))
      .u16(offset)
      .toBuffer();
    await tpm.run({
      code: CC.NV_Write, name: 'TPM2_NV_Write', handles: [index, index], sessions: 1, params,
    });
  }
}

export async function nvRead(tpm: Executor, index: number, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < size; offset += NV_CHUNK) {
    const length = Math.min(NV_CHUNK, size - offset);
    const { params } = await tpm.run({
      code: CC.NV_Read, name: 'TPM2_NV_Read', handles: [index, index], sessions: 1,
      params: new Writer().u16(length).u16(offset).toBuffer(),
    });
    parts.push(params.sized());
  }
  return Buffer.concat(parts);
}
