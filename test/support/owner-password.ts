import { RH, Tpm } from '../../src/tpm2';
import { Writer } from '../../src/tpm2/marshal';

// TPM2_HierarchyChangeAuth; nothing in the package sets hierarchy passwords.
const CC_HIERARCHY_CHANGE_AUTH = 0x129;

/**
 * Gives the owner hierarchy of the TPM at `tcti` a password, as an administrator with
 * `tpm2_changeauth -c owner` would. The package cannot take it away again: use a TPM of
 * the test's own.
 */
export async function setOwnerPassword(tcti: string, password: string): Promise<void> {
  const tpm = Tpm.open(tcti);
  try {
    const auth = Buffer.from(password, 'utf8');
    await tpm.run({
      code: CC_HIERARCHY_CHANGE_AUTH, name: 'TPM2_HierarchyChangeAuth', handles: [RH.OWNER],
      sessions: 1, params: new Writer().u16(auth.length).bytes(auth).toBuffer(),
    });
  } finally {
    await tpm.close();
  }
}
