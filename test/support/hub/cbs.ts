import type { Message } from 'rhea';
import { bodyBytes, isRecord, optionalString } from './amqp-values';
import type { Identity } from './registry';
import { checkToken, type TokenCheck } from './sas';

/** The outcome of one `$cbs` request: what to answer, and what to authorize. */
export interface CbsOutcome {
  readonly reply: Message;
  readonly audience: string;
  readonly check: TokenCheck;
}

export interface CbsContext {
  readonly hosts: readonly string[];
  readonly keyFor: (identity: Identity) => Buffer | undefined;
  /** Unix time in seconds. */
  readonly now: number;
}

const SAS_TOKEN_TYPE = 'servicebus.windows.net:sastoken';

/** Answers a put-token request; anything else on `$cbs` is a 400, as on the hub. */
export function answerCbsRequest(request: Message, context: CbsContext): CbsOutcome {
  const properties = isRecord(request.application_properties)
    ? request.application_properties : {};
  const audience = optionalString(properties.name) ?? '';

  let check: TokenCheck;
  if (properties.operation !== 'put-token') {
    check = { ok: false, reason: 'unsupported operation' };
  } else if (properties.type !== SAS_TOKEN_TYPE) {
    check = { ok: false, reason: 'unsupported token type' };
  } else if (audience === '') {
    check = { ok: false, reason: 'missing audience (name)' };
  } else {
    const token = bodyBytes(request.body).toString('utf8');
    check = checkToken({ audience, token, ...context });
  }

  const status = check.ok ? 200 : statusFor(check.reason);
  const reply: Message = {
    body: undefined,
    // The SDK matches replies to requests by this id alone, compared with ===.
    correlation_id: request.message_id,
    application_properties: {
      'status-code': status,
      'status-description': check.ok ? 'OK' : check.reason,
    },
  };
  const replyTo = optionalString(request.reply_to);
  if (replyTo !== undefined) reply.to = replyTo;

  return { reply, audience, check };
}

function statusFor(reason: string): number {
  return reason.startsWith('unsupported') || reason.startsWith('missing') ? 400 : 401;
}
