import { IdentityStore, SLOT_COUNT, type SlotState } from '../identity';
import { HANDLE_RANGE, getHandles, type TpmInfo } from '../tpm2';
import { CliError, EXIT } from './errors';

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export async function provision(
  store: IdentityStore, slot: number, connectionString: string, force: boolean, io: Output,
): Promise<void> {
  const identity = await store.provision(slot, connectionString, { force });
  io.out(`Stored device ${identity.deviceId} of ${identity.hostName} in TPM slot ${slot}.`);
  io.out('The key is now inside the TPM; delete any copy of the connection string you kept.');
}

export async function show(
  store: IdentityStore, slot: number, json: boolean, io: Output,
): Promise<void> {
  const state = await store.inspect(slot);
  if (json) {
    io.out(JSON.stringify({ slot, ...flatten(state) }));
  } else {
    io.out(`slot ${slot}: ${describe(state)}`);
  }
  if (state.kind !== 'provisioned') {
    throw new CliError(`slot ${slot} holds no usable identity`, EXIT.FAILURE);
  }
}

export async function token(
  store: IdentityStore, slot: number, ttl: number, io: Output,
): Promise<void> {
  io.out((await store.sasToken(slot, ttl)).token);
}

export async function clear(
  store: IdentityStore, slot: number, force: boolean, io: Output,
): Promise<void> {
  const removed = await store.clear(slot, { force });
  io.out(removed ? `Cleared TPM slot ${slot}.` : `TPM slot ${slot} was already empty.`);
}

/** Everything a person wants to know before provisioning. */
export async function info(store: IdentityStore, io: Output): Promise<void> {
  io.out(`TPM:          ${store.tpm.description}`);
  const tpmInfo = await store.info();
  io.out('Reachable:    yes');
  io.out(`Manufacturer: ${tpmInfo.manufacturer.trim()} (${tpmInfo.vendor || 'no vendor string'})`);
  io.out(`Firmware:     ${tpmInfo.firmware}, TPM 2.0 revision ${tpmInfo.specRevision}`);
  if (tpmInfo.persistentAvailable !== undefined) {
    io.out(`Free persistent handles: ${tpmInfo.persistentAvailable}`);
  }
  const owner = ownerState(tpmInfo);
  if (owner) io.out(`Owner hierarchy: ${owner}`);
  io.out('Slots:');
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    io.out(`  ${slot}  ${describe(await store.inspect(slot))}`);
  }
  const ours = new Set(Array.from({ length: SLOT_COUNT }, (_, i) => 0x81000100 + i));
  const others = (await getHandles(store.tpm, HANDLE_RANGE.PERSISTENT, 64))
    .filter((h) => !ours.has(h) && h >= 0x81000100 && h < 0x81000200);
  if (others.length > 0) {
    const listed = others.map((h) => `0x${h.toString(16)}`).join(', ');
    io.out(`Other objects near our handles: ${listed}`);
  }
}

// Keys are created and kept in the owner hierarchy with its empty password, as Windows
// IoT Core did; either of these stops provisioning before it starts.
function ownerState(tpmInfo: TpmInfo): string | undefined {
  if (tpmInfo.ownerEnabled === false) {
    return 'disabled; no key in it can be created or used until the TPM is restarted';
  }
  if (tpmInfo.ownerAuthSet === true) {
    return 'has a password; provisioning will be refused until it is removed ' +
      '(tpm2_changeauth -c owner -p <current password>)';
  }
  if (tpmInfo.ownerAuthSet === false) return 'enabled, no password (ready to provision)';
  return undefined;
}

function describe(state: SlotState): string {
  switch (state.kind) {
    case 'empty': return 'empty';
    case 'provisioned': {
      const { hostName, deviceId, moduleId, gatewayHostName } = state.identity;
      const module = moduleId ? ` module ${moduleId}` : '';
      const gateway = gatewayHostName ? ` via ${gatewayHostName}` : '';
      return `device ${deviceId}${module} of ${hostName}${gateway}`;
    }
    case 'incomplete': return `incomplete: ${state.detail}; provision it again`;
    case 'foreign': return `taken by another program: ${state.detail}`;
  }
}

function flatten(state: SlotState): Record<string, string> {
  if (state.kind === 'provisioned') return { state: state.kind, ...state.identity };
  if (state.kind === 'empty') return { state: state.kind };
  return { state: state.kind, detail: state.detail };
}
