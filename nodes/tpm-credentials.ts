import { TpmIdentity } from '../src/identity';
import type { NodeAPI, NodeDef } from './lib/red';
import type { TpmCredentialsNode } from './lib/tpm-credentials-api';
import { registerTpmAdminRoutes } from './lib/tpm-admin';

interface TpmCredentialsDef extends NodeDef {
  tpm?: string;
  slot?: number | string;
  tokenTtl?: number | string;
}

const DEFAULT_TTL = 3600;

export = function register(RED: NodeAPI): void {
  function TpmCredentials(this: TpmCredentialsNode, def: TpmCredentialsDef): void {
    RED.nodes.createNode(this, def);
    const tokenTtl = Number(def.tokenTtl ?? DEFAULT_TTL) || DEFAULT_TTL;
    const source = new TpmIdentity({
      tpm: (def.tpm ?? '').trim(),
      slot: Number(def.slot ?? 0),
      tokenTtl,
    });
    Object.assign(this, {
      slot: source.options.slot,
      tokenTtl,
      identity: () => source.identity(),
      sasToken: () => source.sasToken(),
    });

    // Say at deploy time what is wrong, so nobody has to wait for the first message.
    source.identity().then(
      (identity) => this.log(RED._('tpm-credentials.log.ready',
        { deviceId: identity.deviceId, hostName: identity.hostName, slot: this.slot })),
      (err: Error) => this.warn(RED._('tpm-credentials.errors.unusable', { reason: err.message })),
    );

    this.on('close', (_removed, done) => {
      source.close().then(done, done);
    });
  }

  RED.nodes.registerType('tpm-credentials', TpmCredentials);
  registerTpmAdminRoutes(RED);
};
