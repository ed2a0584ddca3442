// The small part of Node-RED's runtime API that our nodes use. Node-RED ships no types
// of its own; declaring just this keeps the nodes strictly typed without a dependency.

export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
}

export type SendFn = (msg: NodeMessage | (NodeMessage | null)[]) => void;
export type DoneFn = (err?: Error) => void;

export interface Node {
  readonly id: string;
  readonly type: string;
  name?: string;
  on(event: 'input', handler: (msg: NodeMessage, send: SendFn, done: DoneFn) => void): void;
  on(event: 'close', handler: (removed: boolean, done: () => void) => void): void;
  status(status: NodeStatus): void;
  log(message: string): void;
  warn(message: string): void;
  error(message: string | Error, msg?: NodeMessage): void;
  send(msg: NodeMessage): void;
}

export interface HttpRequest {
  body?: unknown;
  query: Record<string, unknown>;
}

export interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
}

export type HttpHandler = (req: HttpRequest, res: HttpResponse, next: () => void) => void;

export interface NodeAPI {
  nodes: {
    createNode(node: Node, def: NodeDef): void;
    registerType<T extends Node, D extends NodeDef>(
      type: string, constructor: (this: T, def: D) => void): void;
    getNode(id: string): Node | null;
  };
  httpAdmin: {
    get(path: string, ...handlers: HttpHandler[]): void;
    post(path: string, ...handlers: HttpHandler[]): void;
  };
  auth: { needsPermission(permission: string): HttpHandler };
  settings: { readonly userDir?: string };
  log: {
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
  };
  _(key: string, substitutions?: Record<string, string | number>): string;
}
