import { randomUUID } from 'node:crypto';
import { jsonReply, type SimReply, type SimResponse } from '../shared/http-helpers.ts';
import { applicationJson, passwordCredentialJson, type ApplicationRecord } from './application-view.ts';
import { isOwner, sameTenant, type NewPassword, type SimApp } from './directory-state.ts';
import type { GraphCall, GraphContext } from './graph-call.ts';
import { graphError, unreadablePayload } from './graph-errors.ts';
import type { AppKey } from './graph-routes.ts';
import {
  parseSelect,
  parseSkipToken,
  parseTop,
  skipTokenFor,
  unsupportedOption,
  type QueryResult,
} from './odata-query.ts';
import { parseAddPassword, parseRemovePassword, twoYearsAfter } from './password-request.ts';
import { newSecretText } from './secret-text.ts';

/** Only apps that allow personal Microsoft accounts are capped this low. */
const PERSONAL_ACCOUNT_PASSWORD_LIMIT = 2;

type Resolved<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reply: SimResponse };

function queryProblem<T>(result: QueryResult<T>, call: GraphCall): Resolved<T> {
  return result.ok ? result : { ok: false, reply: graphError(400, result.code, result.message, call.ids) };
}

/**
 * The app a path names, as Application.ReadWrite.OwnedBy lets the caller see it: another tenant's
 * app does not exist, and one the caller does not own is refused.
 */
function resolveApp(key: AppKey, call: GraphCall, context: GraphContext): Resolved<SimApp> {
  const { directory } = context;
  const app = key.by === 'objectId' ? directory.appByObjectId(key.value) : directory.appByAppId(key.value);
  if (app === undefined || !sameTenant(app.tenantId, call.caller.tenantId)) {
    const reply = graphError(
      404,
      'Request_ResourceNotFound',
      `Resource '${key.value}' does not exist or one of its queried reference-property objects are not present.`,
      call.ids,
    );
    return { ok: false, reply };
  }
  if (!isOwner(app, call.caller.tenantId, call.caller.clientId)) {
    const reply = graphError(
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
      call.ids,
    );
    return { ok: false, reply };
  }
  return { ok: true, value: app };
}

function recordOf(app: SimApp, context: GraphContext): ApplicationRecord {
  return {
    app,
    createdDateTime: context.directory.createdDateTime(app.appId),
    passwords: context.directory.passwords(app.appId),
  };
}

function jsonBody(call: GraphCall): Resolved<unknown> {
  if (call.json?.ok !== true) return { ok: false, reply: unreadablePayload(call.ids) };
  return { ok: true, value: call.json.value };
}

/** `GET /applications/{id}` and `GET /applications(appId='{appId}')`, honouring `$select`. */
export function getApplication(key: AppKey, call: GraphCall, context: GraphContext): SimReply {
  const unsupported = queryProblem(unsupportedOption(call.query, ['$select']), call);
  if (!unsupported.ok) return unsupported.reply;
  const select = queryProblem(parseSelect(call.query), call);
  if (!select.ok) return select.reply;
  const app = resolveApp(key, call, context);
  if (!app.ok) return app.reply;
  const { properties, selected } = select.value;
  const base = `${context.settings.graphEndpoint}/v1.0/$metadata#applications`;
  return jsonReply(200, {
    '@odata.context': selected ? `${base}(${properties.join(',')})/$entity` : `${base}/$entity`,
    ...applicationJson(recordOf(app.value, context), properties),
  });
}

/** Graph writes `$` and `,` in its links unencoded: `?$select=id,appId&$skiptoken=…`. */
function queryString(pairs: readonly (readonly [string, string])[]): string {
  return pairs
    .map(([name, value]) => `${name}=${encodeURIComponent(value).replaceAll('%2C', ',')}`)
    .join('&');
}

/** `GET /applications`: the caller's own apps in its tenant, `$top` (≤ 999) at a time, with an absolute nextLink. */
export function listApplications(call: GraphCall, context: GraphContext): SimReply {
  const unsupported = queryProblem(unsupportedOption(call.query, ['$select', '$top', '$skiptoken']), call);
  if (!unsupported.ok) return unsupported.reply;
  const select = queryProblem(parseSelect(call.query), call);
  if (!select.ok) return select.reply;
  const top = queryProblem(parseTop(call.query, context.settings.pageSize), call);
  if (!top.ok) return top.reply;
  const offset = queryProblem(parseSkipToken(call.query), call);
  if (!offset.ok) return offset.reply;

  const owned = context.directory.ownedBy(call.caller.tenantId, call.caller.clientId);
  const page = owned.slice(offset.value, offset.value + top.value);
  const { properties, selected } = select.value;
  const graphBase = `${context.settings.graphEndpoint}/v1.0`;
  const body: Record<string, unknown> = {
    '@odata.context': `${graphBase}/$metadata#applications${selected ? `(${properties.join(',')})` : ''}`,
    value: page.map((app) => applicationJson(recordOf(app, context), properties)),
  };
  const nextOffset = offset.value + page.length;
  if (nextOffset < owned.length) {
    const next: [string, string][] = [];
    const rawSelect = call.query.get('$select');
    if (rawSelect !== null) next.push(['$select', rawSelect]);
    if (call.query.has('$top')) next.push(['$top', String(top.value)]);
    next.push(['$skiptoken', skipTokenFor(nextOffset)]);
    body['@odata.nextLink'] = `${graphBase}/applications?${queryString(next)}`;
  }
  return jsonReply(200, body);
}

/** An ISO 8601 duration, the way app management policies state a maximum lifetime. */
function isoDuration(ms: number): string {
  const dayMs = 86_400_000;
  return ms % dayMs === 0 ? `P${ms / dayMs}D` : `PT${ms / 1000}S`;
}

function lifetimeRefusal(
  app: SimApp,
  startMs: number,
  endMs: number,
  call: GraphCall,
  context: GraphContext,
): SimResponse | undefined {
  const maxLifetimeMs = context.settings.lifetimePolicy.get(app.tenantId.toLowerCase());
  if (maxLifetimeMs === undefined || endMs - startMs <= maxLifetimeMs) return undefined;
  return graphError(
    400,
    'CredentialInvalidLifetimeAsPerAppPolicy',
    `Credential lifetime exceeds the max value allowed as per assigned policy 'defaultAppManagementPolicy' of tenant '${app.tenantId}' (passwordLifetime ${isoDuration(maxLifetimeMs)}).`,
    call.ids,
  );
}

function limitRefusal(app: SimApp, call: GraphCall, context: GraphContext): SimResponse | undefined {
  const count = context.directory.passwords(app.appId).length;
  if (
    app.signInAudience === 'AzureADandPersonalMicrosoftAccount' &&
    count >= PERSONAL_ACCOUNT_PASSWORD_LIMIT
  ) {
    return graphError(
      400,
      'TooManyAppPasswords',
      `Not allowed to add ${count + 1} passwords. You can only add a maximum of ${PERSONAL_ACCOUNT_PASSWORD_LIMIT} passwords.`,
      call.ids,
    );
  }
  if (count >= context.settings.maxPasswordsPerApp) {
    return graphError(
      400,
      'Directory_ResourceSizeExceeded',
      'The size of the object has exceeded its limit. Please reduce the number of values and retry your request.',
      call.ids,
    );
  }
  return undefined;
}

/**
 * `POST …/addPassword`. Checks ownership, dates, the tenant's lifetime policy and the password limits
 * before creating anything; an armed ambiguousAddNext fault then loses the answer, not the key.
 */
export function addPassword(key: AppKey, call: GraphCall, context: GraphContext): SimReply {
  const app = resolveApp(key, call, context);
  if (!app.ok) return app.reply;
  const body = jsonBody(call);
  if (!body.ok) return body.reply;
  const parsed = parseAddPassword(body.value);
  if (!parsed.ok) return graphError(400, 'Request_BadRequest', parsed.message, call.ids);

  const startMs = parsed.value.startMs ?? call.nowMs;
  const endMs = parsed.value.endMs ?? twoYearsAfter(startMs);
  if (endMs <= startMs) {
    return graphError(
      400,
      'Request_BadRequest',
      'Password credential end date must be after its start date.',
      call.ids,
    );
  }
  const refusal =
    lifetimeRefusal(app.value, startMs, endMs, call, context) ?? limitRefusal(app.value, call, context);
  if (refusal !== undefined) return refusal;

  const password: NewPassword = {
    keyId: randomUUID(),
    displayName: parsed.value.displayName,
    startMs,
    endMs,
    secretText: newSecretText(),
    createdAtMs: call.nowMs,
    usableFromMs: call.nowMs + context.settings.propagationDelayMs,
  };
  context.directory.addPassword(app.value.appId, password);
  context.onSecretCreated(password.secretText);

  const ambiguous = context.faults.takeAmbiguousAdd();
  if (ambiguous === 'hang') return { kind: 'hang' };
  if (ambiguous === '500') {
    return graphError(
      500,
      'InternalServerError',
      'Simulated failure after the password was created.',
      call.ids,
    );
  }
  return jsonReply(200, {
    '@odata.context': `${context.settings.graphEndpoint}/v1.0/$metadata#microsoft.graph.passwordCredential`,
    ...passwordCredentialJson(password),
    secretText: password.secretText,
  });
}

/** `POST …/removePassword` `{keyId}` → 204. */
export function removePassword(key: AppKey, call: GraphCall, context: GraphContext): SimReply {
  const app = resolveApp(key, call, context);
  if (!app.ok) return app.reply;
  const body = jsonBody(call);
  if (!body.ok) return body.reply;
  const keyId = parseRemovePassword(body.value);
  if (!keyId.ok) return graphError(400, 'Request_BadRequest', keyId.message, call.ids);
  if (!context.directory.removePassword(app.value.appId, keyId.value)) {
    return graphError(
      400,
      'Request_BadRequest',
      `No password credential found with keyId ${keyId.value}.`,
      call.ids,
    );
  }
  return { kind: 'respond', status: 204, contentType: 'application/json', body: '', headers: {} };
}
