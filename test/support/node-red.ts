// A typed face for node-red-node-test-helper, which ships no types. The runtime under
// it is the real Node-RED (the node-red devDependency).
import { join } from 'node:path';

export interface TestResponse {
  status: number;
  body: unknown;
  text: string;
}

interface Pending extends PromiseLike<TestResponse> {
  send(body: unknown): Pending;
  query(query: Record<string, string | number>): Pending;
  set(header: string, value: string): Pending;
}

interface Agent {
  get(path: string): Pending;
  post(path: string): Pending;
}

export interface LogCall {
  args: { level: number; msg?: unknown; type?: string; id?: string }[];
}

export interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

/** Our built node modules, as Node-RED loads them. */
export type NodeModule = (RED: unknown) => void;

interface Helper {
  init(runtimePath: string, settings?: Record<string, unknown>): void;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: NodeModule | NodeModule[], flow: FlowNode[],
    credentials?: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): unknown;
  request(): Agent;
  log(): { getCalls(): LogCall[] };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as Helper;
helper.init(require.resolve('node-red'));

/** Loads a built node from dist/nodes, as Node-RED would. */
export function builtNode(type: string): NodeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(join(__dirname, '../../dist/nodes', `${type}.js`)) as NodeModule;
}

/** Every message logged through Node-RED since the flow was loaded, as text. */
export function loggedText(): string {
  return helper.log().getCalls()
    .map((call) => call.args.map((a) => JSON.stringify(a)).join(' '))
    .join('\n');
}
