// TPM2_HMAC and token minting through our client, against tpm2-tools' tpm2_hmac on the
// same persistent key of the same swtpm, in one run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdentityStore, keyHandle } from '../src/identity';
import { Tpm, hmacSha256 } from '../src/tpm2';
import { startSwtpm } from '../test/support/swtpm';
import { median, ms, ratio, table, timeEach } from './support/stats';

const CS = 'HostName=bench-hub.azure-devices.net;DeviceId=bench;' +
  'SharedAccessKey=YmVuY2htYXJrLWtleS1ub3QtYS1yZWFsLW9uZS0zMmI=';

async function main(): Promise<void> {
  const swtpm = await startSwtpm();
  const dir = mkdtempSync(join(tmpdir(), 'tpm-bench-'));
  try {
    const tpm = Tpm.open(swtpm.tcti);
    const store = new IdentityStore(tpm);
    await store.provision(0, CS);
    const data = Buffer.from('bench-hub.azure-devices.net%2Fdevices%2Fbench\n1790000000');

    const ours = median(await timeEach(1000, () => hmacSha256(tpm, keyHandle(0), data, 1024)));
    const token = median(await timeEach(500, () => store.sasToken(0, 3600)));
    // swtpm serves one client at a time: let go before tpm2-tools connects.
    await tpm.close();

    const input = join(dir, 'input');
    writeFileSync(input, data);
    const env = { ...process.env, TPM2TOOLS_TCTI: swtpm.tcti };
    const tools = median(await timeEach(50, () => execFileSync('tpm2_hmac',
      ['-c', '0x81000100', '-g', 'sha256', '-o', join(dir, 'mac'), input],
      { env, stdio: 'ignore' }), 3));

    console.log(table(['operation', 'ours (median)', 'tpm2_hmac (median)', 'ratio'], [
      ['one TPM2_HMAC', ms(ours), ms(tools), `${ratio(tools / ours)} faster`],
      ['mint one SAS token', ms(token), '-', `${ratio(tools / token)} faster than one tpm2_hmac`],
    ]));
    console.log('\nToken minting reads the identity (4 commands) and signs (1 command).');
  } finally {
    await swtpm.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
