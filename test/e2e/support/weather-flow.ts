// The weather-station example as it ships, and adapted to the parts that stand in for the
// hardware here: the simulated sensor, a swtpm and the local hub with its own CA.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EXAMPLE_FILE = join(__dirname, '../../../examples/weather-station.json');
export const EXAMPLE_TAB = 'ws-tab';

export interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

export interface Stand {
  /** TCTI string of the TPM. */
  tpm: string;
  /** The PEM file the hub's certificate chains to. */
  ca: string;
  /** Seconds between readings; 0 takes one reading at start and then waits for a click. */
  everySeconds: number;
  slot?: number;
}

export function loadExample(): FlowNode[] {
  return JSON.parse(readFileSync(EXAMPLE_FILE, 'utf8')) as FlowNode[];
}

/** The example on a tab of its own with the stand's settings; nothing else changed. */
export function adaptExample(stand: Stand, example = loadExample()): FlowNode[] {
  const configTypes = new Set(['tpm-credentials']);
  const nodes = example.map((node): FlowNode => {
    const copy: FlowNode = configTypes.has(node.type) ? { ...node } : { ...node, z: EXAMPLE_TAB };
    switch (node.type) {
      case 'bme280-sensor': return { ...copy, bus: 'simulated' };
      case 'tpm-credentials':
        return { ...copy, tpm: stand.tpm, slot: String(stand.slot ?? 0) };
      case 'azure-iot-hub-out': return { ...copy, ca: stand.ca };
      case 'inject':
        return stand.everySeconds > 0
          ? { ...copy, repeat: String(stand.everySeconds), name: `every ${stand.everySeconds} s` }
          : { ...copy, repeat: '', name: 'read now' };
      default: return copy;
    }
  });
  return [{ id: EXAMPLE_TAB, type: 'tab', label: 'Weather station' }, ...nodes];
}

/** The one node of `type` in a flow; throws when there is none or more than one. */
export function only(nodes: readonly FlowNode[], type: string): FlowNode {
  const found = nodes.filter((node) => node.type === type);
  const [node] = found;
  if (found.length !== 1 || !node) throw new Error(`expected one ${type}, found ${found.length}`);
  return node;
}
