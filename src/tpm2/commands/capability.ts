import { CAP, CC, PT } from '../constants';
import type { Executor } from '../client';
import { Writer } from '../marshal';

/** TPM2_GetCapability(TPM_PROPERTIES) for a run of properties. */
export async function getProperties(
  tpm: Executor, first: number, count: number,
): Promise<Map<number, number>> {
  const { params } = await tpm.run({
    code: CC.GetCapability, name: 'TPM2_GetCapability',
    params: new Writer().u32(CAP.TPM_PROPERTIES).u32(first).u32(count).toBuffer(),
  });
  params.u8();
  params.u32();
  const found = new Map<number, number>();
  const n = params.u32();
  for (let i = 0; i < n; i++) {
    const property = params.u32();
    found.set(property, params.u32());
  }
  return found;
}

export async function getProperty(tpm: Executor, property: number): Promise<number | undefined> {
  return (await getProperties(tpm, property, 1)).get(property);
}

/** Handles in use from `first` on, up to `count` (e.g. persistent 0x81000000). */
export async function getHandles(tpm: Executor, first: number, count: number): Promise<number[]> {
  const handles: number[] = [];
  let next = first;
  for (;;) {
    const { params } = await tpm.run({
      code: CC.GetCapability, name: 'TPM2_GetCapability',
      params: new Writer().u32(CAP.HANDLES).u32(next).u32(count).toBuffer(),
    });
    const more = params.u8();
    params.u32();
    const n = params.u32();
    for (let i = 0; i < n; i++) handles.push(params.u32());
    const last = handles[handles.length - 1];
    if (!more || n === 0 || last === undefined || handles.length >= count) return handles;
    next = last + 1;
  }
}

export interface TpmInfo {
  /** Four ASCII letters such as "IBM ", "IFX ", "STM ", "NTC ". */
  readonly manufacturer: string;
  readonly vendor: string;
  readonly firmware: string;
  readonly specRevision: string;
  readonly inputBuffer: number;
  readonly persistentAvailable?: number;
  /** The owner hierarchy has a password (TPMA_PERMANENT ownerAuthSet). */
  readonly ownerAuthSet?: boolean;
  /** The owner hierarchy is enabled (TPMA_STARTUP_CLEAR shEnable). */
  readonly ownerEnabled?: boolean;
}

export async function getTpmInfo(tpm: Executor): Promise<TpmInfo> {
  const fixed = await getProperties(tpm, PT.FAMILY_INDICATOR, 0x30);
  const fw1 = fixed.get(PT.FIRMWARE_VERSION_1) ?? 0;
  const fw2 = fixed.get(PT.FIRMWARE_VERSION_2) ?? 0;
  const vendorWords = [0, 1, 2, 3].map((i) => fixed.get(PT.VENDOR_STRING_1 + i) ?? 0);
  const revision = fixed.get(PT.REVISION) ?? 0;
  const state = await getProperties(tpm, PT.PERMANENT, PT.HR_PERSISTENT_AVAIL - PT.PERMANENT + 1);
  const available = state.get(PT.HR_PERSISTENT_AVAIL);
  const permanent = state.get(PT.PERMANENT);
  const startupClear = state.get(PT.STARTUP_CLEAR);
  return {
    manufacturer: ascii([fixed.get(PT.MANUFACTURER) ?? 0]),
    vendor: ascii(vendorWords).trim(),
    firmware: `${fw1 >>> 16}.${fw1 & 0xffff}.${fw2 >>> 16}.${fw2 & 0xffff}`,
    specRevision: `${Math.floor(revision / 100)}.${String(revision % 100).padStart(2, '0')}`,
    inputBuffer: fixed.get(PT.INPUT_BUFFER) ?? 1024,
    ...(available === undefined ? {} : { persistentAvailable: available }),
    ...(permanent === undefined ? {} : { ownerAuthSet: (permanent & 0x1) !== 0 }),
    ...(startupClear === undefined ? {} : { ownerEnabled: (startupClear & 0x2) !== 0 }),
  };
}

/** TPM property words hold up to four ASCII characters, most significant first. */
function ascii(words: readonly number[]): string {
  const buf = Buffer.alloc(words.length * 4);
  words.forEach((word, i) => buf.writeUInt32BE(word >>> 0, i * 4));
  // eslint-disable-next-line no-control-regex
  return buf.toString('latin1').replace(/\u0000/g, '');
}
