import {
  ConnectionStringError, ForeignObjectError, IdentityArgumentError, withStore,
  type SlotState,
} from '../../src/identity';
import { TctiError, TpmTransportError } from '../../src/tpm2';
import type { HttpResponse, NodeAPI } from './red';

/**
 * The editor panel's routes. The connection string arrives in a POST body, goes into the
 * TPM and nowhere else: it is not logged, not stored and never part of a response.
 */
export function registerTpmAdminRoutes(RED: NodeAPI): void {
  const read = RED.auth.needsPermission('tpm-credentials.read');
  const write = RED.auth.needsPermission('tpm-credentials.write');

  RED.httpAdmin.get('/tpm-credentials/status', read, (req, res) => {
    respond(res, async () => {
      const { tpm, slot } = target(req.query);
      return withStore(tpm, async (store) => {
        const info = await store.info();
        return {
          tpm: { reachable: true, description: store.tpm.description,
            manufacturer: info.manufacturer.trim(), vendor: info.vendor,
            firmware: info.firmware, ownerAuthSet: info.ownerAuthSet,
            ownerEnabled: info.ownerEnabled },
          slot: describeSlot(await store.inspect(slot)),
        };
      });
    }, (message) => ({ tpm: { reachable: false, error: message } }));
  });

  RED.httpAdmin.post('/tpm-credentials/provision', write, (req, res) => {
    respond(res, async () => {
      const body = asRecord(req.body);
      const { tpm, slot } = target(body);
      const connectionString = body['connectionString'];
      if (typeof connectionString !== 'string') {
        throw new ConnectionStringError('invalid connection string: none was sent');
      }
      const force = body['force'] === true;
      const identity = await withStore(tpm, (store) =>
        store.provision(slot, connectionString, { force }));
      return { slot: { kind: 'provisioned', identity } };
    });
  });

  RED.httpAdmin.post('/tpm-credentials/clear', write, (req, res) => {
    respond(res, async () => {
      const body = asRecord(req.body);
      const { tpm, slot } = target(body);
      const removed = await withStore(tpm, (store) =>
        store.clear(slot, { force: body['force'] === true }));
      return { removed, slot: { kind: 'empty' } };
    });
  });
}

function target(source: Record<string, unknown>): { tpm: string; slot: number } {
  const tpm = source['tpm'] ?? '';
  const slot = Number(source['slot'] ?? 0);
  if (typeof tpm !== 'string') throw new TctiError('the TPM must be given as a TCTI string');
  if (!Number.isInteger(slot)) throw new IdentityArgumentError('slot must be a number from 0 to 9');
  return { tpm, slot };
}

function asRecord(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

function describeSlot(state: SlotState): Record<string, unknown> {
  return state.kind === 'provisioned'
    ? { kind: state.kind, identity: state.identity }
    : { kind: state.kind, ...('detail' in state ? { detail: state.detail } : {}) };
}

/** Maps our error types to HTTP answers; messages are ours, never echoes of input. */
function respond(
  res: HttpResponse,
  work: () => Promise<unknown>,
  unreachable?: (message: string) => unknown,
): void {
  work().then(
    (body) => res.json(body),
    (err: unknown) => {
      const message = err instanceof Error ? err.message : 'unexpected error';
      if (err instanceof ConnectionStringError || err instanceof IdentityArgumentError ||
        err instanceof TctiError) {
        res.status(400).json({ error: message });
      } else if (err instanceof ForeignObjectError) {
        res.status(409).json({ error: message, foreign: true });
      } else if (unreachable) {
        res.json(unreachable(message));
      } else if (err instanceof TpmTransportError) {
        res.status(503).json({ error: message });
      } else {
        res.status(500).json({ error: message });
      }
    },
  );
}
