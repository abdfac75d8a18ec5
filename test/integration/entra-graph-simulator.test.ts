import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  EntraGraphSimulator,
  type EntraGraphSimulatorOptions,
  type SimApp,
} from '../../src/sim/entra/entra-graph-simulator.ts';

const TENANT = 'a1b2c3d4-0000-4000-8000-00000000000a';
const OTHER_TENANT = 'b2c3d4e5-0000-4000-8000-00000000000b';
const ROTATOR = 'c0ffee00-0000-4000-8000-000000000001';
const ROTATOR_SECRET = 'rotator~secret.value-1';
const OTHER_CLIENT = 'c0ffee00-0000-4000-8000-000000000002';
const OTHER_SECRET = 'other~secret.value-2';
const DAY_MS = 86_400_000;

interface GraphErrorBody {
  error: { code: string; message: string; innerError: Record<string, string> };
}
interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
}
interface PasswordJson {
  customKeyIdentifier: null;
  displayName: string | null;
  endDateTime: string;
  hint: string;
  keyId: string;
  secretText: string | null;
  startDateTime: string;
}
interface AppJson {
  id: string;
  appId?: string;
  displayName?: string;
  passwordCredentials?: PasswordJson[];
}
interface BatchResponse {
  responses: { id: string; status: number; headers: Record<string, string>; body?: unknown }[];
}

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

const started: EntraGraphSimulator[] = [];
afterAll(async () => {
  await Promise.all(started.map((sim) => sim.close()));
});

async function startSim(options: Partial<EntraGraphSimulatorOptions> = {}): Promise<EntraGraphSimulator> {
  const sim = await EntraGraphSimulator.start({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    ...options,
  });
  started.push(sim);
  sim.addClient({ tenantId: TENANT, clientId: ROTATOR, secret: ROTATOR_SECRET });
  sim.addClient({ tenantId: TENANT, clientId: OTHER_CLIENT, secret: OTHER_SECRET });
  return sim;
}

function scopeOf(sim: EntraGraphSimulator): string {
  return `${sim.graphEndpoint}/.default`;
}

/** A fresh credential each time: MSAL caches tokens per credential, and these tests count requests. */
function credential(sim: EntraGraphSimulator, clientId: string, secret: string, tenantId = TENANT) {
  return new ClientSecretCredential(tenantId, clientId, secret, {
    authorityHost: sim.authorityHost,
    disableInstanceDiscovery: true,
  });
}

async function tokenFor(
  sim: EntraGraphSimulator,
  clientId = ROTATOR,
  secret = ROTATOR_SECRET,
): Promise<string> {
  const token = await credential(sim, clientId, secret).getToken(scopeOf(sim));
  return token.token;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** A raw client-credentials request, to see Entra's exact answer (MSAL wraps it in an error message). */
function postToken(
  sim: EntraGraphSimulator,
  form: Record<string, string>,
  tenantId = TENANT,
): Promise<Response> {
  return fetch(`${sim.authorityHost}/${tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams(form),
  });
}

interface GraphOptions {
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  readonly headers?: Record<string, string>;
}

function graph(
  sim: EntraGraphSimulator,
  token: string,
  method: string,
  path: string,
  options: GraphOptions = {},
): Promise<Response> {
  const url = path.startsWith('https://') ? path : `${sim.graphEndpoint}/v1.0${path}`;
  return fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

function addPassword(
  sim: EntraGraphSimulator,
  token: string,
  app: SimApp,
  passwordCredential: Record<string, unknown> = { displayName: 'rotator r-1', endDateTime: inDays(30) },
): Promise<Response> {
  return graph(sim, token, 'POST', `/applications/${app.objectId}/addPassword`, {
    body: { passwordCredential },
  });
}

function inDays(days: number): string {
  return new Date(Date.now() + days * DAY_MS).toISOString();
}

async function expectGraphError(response: Response, status: number, code: string): Promise<GraphErrorBody> {
  expect(response.status).toBe(status);
  const body = await json<GraphErrorBody>(response);
  expect(body.error.code).toBe(code);
  expect(body.error.innerError['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  return body;
}

describe('EntraGraphSimulator: Entra sign-in with the real @azure/identity', () => {
  let sim: EntraGraphSimulator;
  beforeAll(async () => {
    sim = await startSim({ tokenTtlSec: 600 });
  });

  it('issues a Graph token to ClientSecretCredential: discovery document, then the token endpoint it names', async () => {
    const before = sim.calls().length;
    const token = await tokenFor(sim);
    const claims = claimsOf(token);
    expect(claims).toMatchObject({ tid: TENANT, appid: ROTATOR, aud: sim.graphEndpoint });
    expect(claims['oid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(claims['exp']) - Number(claims['iat'])).toBe(600);
    expect(sim.issuedTokens()).toContain(token);
    expect(
      sim
        .calls()
        .slice(before)
        .map((call) => [call.endpoint, call.status, call.tenantId]),
    ).toEqual([
      ['openid', 200, TENANT],
      ['token', 200, TENANT],
    ]);
    // MSAL lower-cases the authority and still finds the tenant.
    expect(sim.calls().at(-2)?.path).toBe(`/${TENANT}/v2.0/.well-known/openid-configuration`);
  });

  it('serves the discovery document, and AADSTS90002 for a tenant it does not know', async () => {
    const doc = await json<Record<string, unknown>>(
      await fetch(`${sim.authorityHost}/${TENANT}/v2.0/.well-known/openid-configuration`),
    );
    expect(doc).toMatchObject({
      issuer: `${sim.authorityHost}/${TENANT}/v2.0`,
      token_endpoint: `${sim.authorityHost}/${TENANT}/oauth2/v2.0/token`,
      authorization_endpoint: `${sim.authorityHost}/${TENANT}/oauth2/v2.0/authorize`,
      jwks_uri: `${sim.authorityHost}/${TENANT}/discovery/v2.0/keys`,
    });
    const unknown = await fetch(`${sim.authorityHost}/${OTHER_TENANT}/v2.0/.well-known/openid-configuration`);
    expect(unknown.status).toBe(400);
    expect(await json<EntraErrorBody>(unknown)).toMatchObject({
      error: 'invalid_tenant',
      error_codes: [90002],
    });
    await expect(
      credential(sim, ROTATOR, ROTATOR_SECRET, OTHER_TENANT).getToken(scopeOf(sim)),
    ).rejects.toThrow();
  });

  it('refuses a wrong secret with 401 invalid_client AADSTS7000215, as Entra does', async () => {
    await expect(tokenFor(sim, ROTATOR, 'not-the-secret')).rejects.toThrow(/AADSTS7000215/);
    const response = await postToken(sim, {
      grant_type: 'client_credentials',
      client_id: ROTATOR,
      client_secret: 'not-the-secret',
      scope: scopeOf(sim),
    });
    expect(response.status).toBe(401);
    const body = await json<EntraErrorBody>(response);
    expect(body.error).toBe('invalid_client');
    expect(body.error_codes).toEqual([7000215]);
    expect(body.error_description.startsWith('AADSTS7000215: Invalid client secret provided.')).toBe(true);
    expect(body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  });

  it('refuses any scope but this Graph origin’s /.default with invalid_scope AADSTS70011', async () => {
    const wrongCloud = credential(sim, ROTATOR, ROTATOR_SECRET).getToken(
      'https://graph.microsoft.com/.default',
    );
    await expect(wrongCloud).rejects.toThrow(/AADSTS70011/);
    const response = await postToken(sim, {
      grant_type: 'client_credentials',
      client_id: ROTATOR,
      client_secret: ROTATOR_SECRET,
      scope: `${sim.graphEndpoint}/Application.ReadWrite.OwnedBy`,
    });
    expect(response.status).toBe(400);
    expect(await json<EntraErrorBody>(response)).toMatchObject({
      error: 'invalid_scope',
      error_codes: [70011],
    });
  });

  it('refuses an unknown client with 400 unauthorized_client AADSTS700016', async () => {
    const response = await postToken(sim, {
      grant_type: 'client_credentials',
      client_id: 'deadbeef-0000-4000-8000-000000000000',
      client_secret: 'x',
      scope: scopeOf(sim),
    });
    expect(response.status).toBe(400);
    expect(await json<EntraErrorBody>(response)).toMatchObject({
      error: 'unauthorized_client',
      error_codes: [700016],
    });
  });

  it('accepts a certificate credential (x5t#S256 of the registered certificate) from ClientCertificateCredential', async () => {
    const clientId = 'ce27ce27-0000-4000-8000-000000000003';
    sim.addClient({ tenantId: TENANT, clientId, certificatePem: inject('tlsCert') });
    const certificate = `${inject('tlsKey')}\n${inject('tlsCert')}`;
    const cred = new ClientCertificateCredential(
      TENANT,
      clientId,
      { certificate },
      {
        authorityHost: sim.authorityHost,
        disableInstanceDiscovery: true,
      },
    );
    const token = await cred.getToken(scopeOf(sim));
    expect(claimsOf(token.token)).toMatchObject({ appid: clientId, tid: TENANT });
    // Another client's certificate is not this one's.
    const impostor = new ClientCertificateCredential(
      TENANT,
      ROTATOR,
      { certificate },
      {
        authorityHost: sim.authorityHost,
        disableInstanceDiscovery: true,
      },
    );
    await expect(impostor.getToken(scopeOf(sim))).rejects.toThrow(/AADSTS700027/);
  });

  it('accepts the federated token of WorkloadIdentityCredential as its client assertion', async () => {
    const clientId = 'f0f0f0f0-0000-4000-8000-000000000004';
    const federatedToken = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cm90YXRvciJ9.c2ln';
    sim.addClient({ tenantId: TENANT, clientId, federatedToken });
    const dir = await mkdtemp(join(tmpdir(), 'entra-sim-'));
    try {
      const tokenFilePath = join(dir, 'token');
      await writeFile(tokenFilePath, federatedToken);
      const cred = new WorkloadIdentityCredential({
        tenantId: TENANT,
        clientId,
        tokenFilePath,
        authorityHost: sim.authorityHost,
        disableInstanceDiscovery: true,
      });
      expect(claimsOf((await cred.getToken(scopeOf(sim))).token)).toMatchObject({ appid: clientId });
      expect(sim.issuedSecrets()).toContain(federatedToken);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves the App Service managed-identity protocol to the real ManagedIdentityCredential', async () => {
    const identity = { tenantId: TENANT, clientId: '3a3a3a3a-0000-4000-8000-000000000005' };
    sim.setManagedIdentity(identity);
    // MSAL reads these when the credential is built and then keeps its source for the whole process.
    process.env['IDENTITY_ENDPOINT'] = sim.msiEndpoint;
    process.env['IDENTITY_HEADER'] = sim.msiHeader;
    try {
      const token = await new ManagedIdentityCredential().getToken(scopeOf(sim));
      expect(claimsOf(token.token)).toMatchObject({
        tid: TENANT,
        appid: identity.clientId,
        aud: sim.graphEndpoint,
      });
      expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 500_000);
      expect(sim.calls().at(-1)).toMatchObject({ endpoint: 'msi', status: 200, tenantId: TENANT });
      const listed = await graph(sim, token.token, 'GET', '/applications');
      expect(listed.status).toBe(200);
    } finally {
      delete process.env['IDENTITY_ENDPOINT'];
      delete process.env['IDENTITY_HEADER'];
    }

    const query = `resource=${encodeURIComponent(sim.graphEndpoint)}&api-version=2019-08-01`;
    const direct = await fetch(`${sim.msiEndpoint}?${query}&client_id=${identity.clientId}`, {
      headers: { 'X-IDENTITY-HEADER': sim.msiHeader },
    });
    expect(await json<Record<string, unknown>>(direct)).toMatchObject({
      token_type: 'Bearer',
      resource: sim.graphEndpoint,
      client_id: identity.clientId,
      expires_on: expect.stringMatching(/^\d{10}$/) as unknown,
    });
    const wrongHeader = await fetch(`${sim.msiEndpoint}?${query}`, {
      headers: { 'X-IDENTITY-HEADER': 'nope' },
    });
    expect(wrongHeader.status).toBe(401);
    sim.setManagedIdentity(undefined);
    const none = await fetch(`${sim.msiEndpoint}?${query}`, {
      headers: { 'X-IDENTITY-HEADER': sim.msiHeader },
    });
    expect(none.status).toBe(400);
  });
});

describe('EntraGraphSimulator: a new secret propagates', () => {
  it('refuses a new password with AADSTS7000215 until propagationDelayMs after its creation, then accepts it', async () => {
    const sim = await startSim({ propagationDelayMs: 300 });
    const app = sim.addApp({ tenantId: TENANT, owners: [ROTATOR] });
    const token = await tokenFor(sim);
    const created = await json<PasswordJson>(await addPassword(sim, token, app));
    const secret = created.secretText ?? '';
    const createdAt = sim.passwords(app.appId)[0]?.createdAtMs ?? 0;

    expect(sim.acceptsSecret(app.appId, secret)).toBe(false);
    expect(sim.acceptsSecret(app.appId, secret, createdAt + 300)).toBe(true);
    await expect(tokenFor(sim, app.appId, secret)).rejects.toThrow(/AADSTS7000215/);

    await delay(Math.max(0, createdAt + 320 - Date.now()));
    expect(sim.acceptsSecret(app.appId, secret)).toBe(true);
    const probe = await tokenFor(sim, app.appId, secret);
    expect(claimsOf(probe)).toMatchObject({ appid: app.appId, tid: TENANT });
  });

  it('treats seeded passwords as propagated unless told otherwise, and refuses expired ones with AADSTS7000222', async () => {
    const sim = await startSim({ propagationDelayMs: 60_000 });
    const app = sim.addApp({ tenantId: TENANT, owners: [ROTATOR] });
    const ready = sim.seedPassword(app.appId, { displayName: 'old' });
    const fresh = sim.seedPassword(app.appId, { propagated: false });
    const expired = sim.seedPassword(app.appId, {
      startDateTime: new Date(Date.now() - 10 * DAY_MS).toISOString(),
      endDateTime: new Date(Date.now() - DAY_MS).toISOString(),
    });
    expect(sim.acceptsSecret(app.appId, ready.secretText)).toBe(true);
    expect(sim.acceptsSecret(app.appId, fresh.secretText)).toBe(false);
    expect(sim.acceptsSecret(app.appId, expired.secretText)).toBe(false);
    expect(sim.issuedSecrets()).toEqual(
      expect.arrayContaining([ready.secretText, fresh.secretText, ROTATOR_SECRET]),
    );

    const response = await postToken(sim, {
      grant_type: 'client_credentials',
      client_id: app.appId,
      client_secret: expired.secretText,
      scope: scopeOf(sim),
    });
    expect(response.status).toBe(401);
    expect(await json<EntraErrorBody>(response)).toMatchObject({
      error: 'invalid_client',
      error_codes: [7000222],
    });
  });
});

describe('EntraGraphSimulator: Graph applications', () => {
  let sim: EntraGraphSimulator;
  let token: string;
  let otherToken: string;
  let app: SimApp;

  beforeAll(async () => {
    sim = await startSim({ pageSize: 3 });
    sim.addClient({ tenantId: OTHER_TENANT, clientId: ROTATOR, secret: ROTATOR_SECRET });
    app = sim.addApp({ tenantId: TENANT, owners: [ROTATOR], displayName: 'Qualys connector 1' });
    [token, otherToken] = await Promise.all([tokenFor(sim), tokenFor(sim, OTHER_CLIENT, OTHER_SECRET)]);
  });

  it('gets an app by object id and by appId, honouring $select (id always included)', async () => {
    const seeded = sim.seedPassword(app.appId, { displayName: 'legacy' });
    const byObjectId = await json<AppJson>(await graph(sim, token, 'GET', `/applications/${app.objectId}`));
    expect(byObjectId).toMatchObject({
      id: app.objectId,
      appId: app.appId,
      displayName: 'Qualys connector 1',
    });

    const selected = await graph(
      sim,
      token,
      'GET',
      `/applications(appId='${app.appId}')?$select=appId,passwordCredentials`,
    );
    expect(selected.status).toBe(200);
    const body = await json<AppJson>(selected);
    expect(Object.keys(body).filter((key) => !key.startsWith('@'))).toEqual([
      'id',
      'appId',
      'passwordCredentials',
    ]);
    const listed = body.passwordCredentials?.find((password) => password.keyId === seeded.keyId);
    expect(listed).toEqual({
      customKeyIdentifier: null,
      displayName: 'legacy',
      endDateTime: expect.any(String) as unknown,
      hint: seeded.secretText.slice(0, 3),
      keyId: seeded.keyId,
      secretText: null,
      startDateTime: expect.any(String) as unknown,
    });
    const unknownProperty = await graph(sim, token, 'GET', `/applications/${app.objectId}?$select=nope`);
    await expectGraphError(unknownProperty, 400, 'BadRequest');
  });

  it('answers 404 for an unknown app or another tenant’s, 403 to a non-owner, 401 without a valid token', async () => {
    const unknown = await graph(sim, token, 'GET', '/applications/00000000-0000-4000-8000-0000000000ff');
    await expectGraphError(unknown, 404, 'Request_ResourceNotFound');
    const foreign = sim.addApp({ tenantId: OTHER_TENANT, owners: [ROTATOR] });
    await expectGraphError(
      await graph(sim, token, 'GET', `/applications/${foreign.objectId}`),
      404,
      'Request_ResourceNotFound',
    );

    const denied = await expectGraphError(
      await graph(sim, otherToken, 'GET', `/applications(appId='${app.appId}')`),
      403,
      'Authorization_RequestDenied',
    );
    expect(denied.error.message).toBe('Insufficient privileges to complete the operation.');
    await expectGraphError(await addPassword(sim, otherToken, app), 403, 'Authorization_RequestDenied');

    const missing = await fetch(`${sim.graphEndpoint}/v1.0/applications/${app.objectId}`);
    await expectGraphError(missing, 401, 'InvalidAuthenticationToken');
    const elsewhere = await startSim();
    const foreignToken = await tokenFor(elsewhere);
    await expectGraphError(
      await graph(sim, foreignToken, 'GET', `/applications/${app.objectId}`),
      401,
      'InvalidAuthenticationToken',
    );
  });

  it('lists the caller’s own apps of its tenant, paged with an absolute @odata.nextLink and $top up to 999', async () => {
    const listing = await startSim({ pageSize: 2 });
    listing.addClient({ tenantId: OTHER_TENANT, clientId: ROTATOR, secret: ROTATOR_SECRET });
    const mine = Array.from({ length: 5 }, (_, i) =>
      listing.addApp({ tenantId: TENANT, owners: [ROTATOR], displayName: `app ${i}` }),
    );
    listing.addApp({ tenantId: TENANT, owners: [OTHER_CLIENT] });
    listing.addApp({ tenantId: OTHER_TENANT, owners: [ROTATOR] });
    const listToken = await tokenFor(listing);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let next: string | undefined = `${listing.graphEndpoint}/v1.0/applications?$select=appId,displayName`;
    while (next !== undefined) {
      expect(next.startsWith(`${listing.graphEndpoint}/v1.0/applications?`)).toBe(true);
      const page: { value: AppJson[]; '@odata.nextLink'?: string } = await json(
        await graph(listing, listToken, 'GET', next),
      );
      pageSizes.push(page.value.length);
      seen.push(...page.value.map((item) => item.appId ?? ''));
      next = page['@odata.nextLink'];
    }
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(mine.map((item) => item.appId));

    const top = await json<{ value: AppJson[]; '@odata.nextLink'?: string }>(
      await graph(listing, listToken, 'GET', '/applications?$top=999&$select=id'),
    );
    expect(top.value).toHaveLength(5);
    expect(top['@odata.nextLink']).toBeUndefined();
    await expectGraphError(
      await graph(listing, listToken, 'GET', '/applications?$top=1000'),
      400,
      'Request_BadRequest',
    );
    await expectGraphError(
      await graph(listing, listToken, 'GET', "/applications?$filter=appId eq 'x'"),
      400,
      'Request_UnsupportedQuery',
    );
  });

  it('adds a password: 200 with the secret text once, Graph-shaped, recorded without its text', async () => {
    const endDateTime = inDays(90);
    const response = await addPassword(sim, token, app, { displayName: 'rotator r-42', endDateTime });
    expect(response.status).toBe(200);
    const created = await json<PasswordJson>(response);
    expect(created).toMatchObject({ customKeyIdentifier: null, displayName: 'rotator r-42', endDateTime });
    const secret = created.secretText ?? '';
    expect(secret).toHaveLength(40);
    expect(created.hint).toBe(secret.slice(0, 3));
    expect(sim.issuedSecrets()).toContain(secret);
    expect(sim.passwords(app.appId).find((password) => password.keyId === created.keyId)).toMatchObject({
      displayName: 'rotator r-42',
      hint: created.hint,
    });
    expect(JSON.stringify(sim.passwords(app.appId))).not.toContain(secret);

    const byAppId = await graph(sim, token, 'POST', `/applications(appId='${app.appId}')/addPassword`, {
      body: { passwordCredential: { displayName: null } },
    });
    const defaulted = await json<PasswordJson>(byAppId);
    const lifetimeMs = Date.parse(defaulted.endDateTime) - Date.parse(defaulted.startDateTime);
    expect(lifetimeMs / DAY_MS).toBeGreaterThanOrEqual(730);
    expect(lifetimeMs / DAY_MS).toBeLessThanOrEqual(731);

    const unreadable = await graph(sim, token, 'POST', `/applications/${app.objectId}/addPassword`, {
      headers: { 'content-type': 'text/plain' },
    });
    await expectGraphError(unreadable, 400, 'BadRequest');
  });

  it('removes a password by keyId with 204, and answers 400 Request_BadRequest for an unknown keyId', async () => {
    const created = await json<PasswordJson>(await addPassword(sim, token, app));
    const removed = await graph(sim, token, 'POST', `/applications/${app.objectId}/removePassword`, {
      body: { keyId: created.keyId },
    });
    expect(removed.status).toBe(204);
    expect(sim.passwords(app.appId).map((password) => password.keyId)).not.toContain(created.keyId);
    expect(sim.acceptsSecret(app.appId, created.secretText ?? '')).toBe(false);

    const again = await graph(sim, token, 'POST', `/applications/${app.objectId}/removePassword`, {
      body: { keyId: created.keyId },
    });
    const body = await expectGraphError(again, 400, 'Request_BadRequest');
    expect(body.error.message).toBe(`No password credential found with keyId ${created.keyId}.`);
  });
});

describe('EntraGraphSimulator: policies and limits', () => {
  it('refuses a lifetime beyond the tenant’s app management policy (the 2-year default included)', async () => {
    const sim = await startSim({ lifetimePolicy: { [TENANT]: { maxLifetimeMs: 90 * DAY_MS } } });
    const app = sim.addApp({ tenantId: TENANT, owners: [ROTATOR] });
    const token = await tokenFor(sim);
    const defaulted = await addPassword(sim, token, app, { displayName: 'rotator r-1' });
    const body = await expectGraphError(defaulted, 400, 'CredentialInvalidLifetimeAsPerAppPolicy');
    expect(body.error.message).toContain('policy');
    expect(sim.passwords(app.appId)).toHaveLength(0);
    expect((await addPassword(sim, token, app, { endDateTime: inDays(30) })).status).toBe(200);
  });

  it('caps personal-account apps at 2 passwords (TooManyAppPasswords) and others at maxPasswordsPerApp', async () => {
    const sim = await startSim({ maxPasswordsPerApp: 3 });
    const token = await tokenFor(sim);
    const personal = sim.addApp({
      tenantId: TENANT,
      owners: [ROTATOR],
      signInAudience: 'AzureADandPersonalMicrosoftAccount',
    });
    for (let i = 0; i < 2; i++) expect((await addPassword(sim, token, personal)).status).toBe(200);
    const third = await expectGraphError(await addPassword(sim, token, personal), 400, 'TooManyAppPasswords');
    expect(third.error.message).toBe(
      'Not allowed to add 3 passwords. You can only add a maximum of 2 passwords.',
    );

    const ordinary = sim.addApp({ tenantId: TENANT, owners: [ROTATOR] });
    for (let i = 0; i < 3; i++) expect((await addPassword(sim, token, ordinary)).status).toBe(200);
    await expectGraphError(await addPassword(sim, token, ordinary), 400, 'Directory_ResourceSizeExceeded');
    expect(sim.passwords(ordinary.appId)).toHaveLength(3);
  });
});

describe('EntraGraphSimulator: $batch and throttling', () => {
  it('runs sub-requests through the same handlers, counting the batch once and its sub-requests apart', async () => {
    const sim = await startSim();
    const app = sim.addApp({ tenantId: TENANT, owners: [ROTATOR] });
    const token = await tokenFor(sim);
    const requests = [
      {
        id: '1',
        method: 'GET',
        url: `/applications(appId='${app.appId}')?$select=id,appId,passwordCredentials`,
      },
      {
        id: '2',
        method: 'POST',
        url: `/applications/${app.objectId}/addPassword`,
        headers: { 'Content-Type': 'application/json' },
        body: { passwordCredential: { displayName: 'rotator r-7', endDateTime: inDays(30) } },
      },
      { id: '3', method: 'GET', url: '/applications/00000000-0000-4000-8000-0000000000ff' },
    ];
    const response = await graph(sim, token, 'POST', '/$batch', { body: { requests } });
    expect(response.status).toBe(200);
    const { responses } = await json<BatchResponse>(response);
    expect(responses.map((item) => [item.id, item.status])).toEqual([
      ['1', 200],
      ['2', 200],
      ['3', 404],
    ]);
    expect(responses[0]?.body).toMatchObject({ id: app.objectId, appId: app.appId, passwordCredentials: [] });
    expect((responses[1]?.body as PasswordJson).secretText).toHaveLength(40);
    expect(responses[1]?.headers['Content-Type']).toBe('application/json');
    expect(sim.passwords(app.appId)).toHaveLength(1);
    expect(sim.callCount('batch')).toBe(1);
    expect(sim.callCount('getApp')).toBe(0);
    expect(sim.callCount('addPassword')).toBe(0);
    expect(sim.batchedRequestCount()).toBe(3);

    const tooMany = Array.from({ length: 21 }, (_, i) => ({
      id: String(i),
      method: 'GET',
      url: '/applications',
    }));
    await expectGraphError(
      await graph(sim, token, 'POST', '/$batch', { body: { requests: tooMany } }),
      400,
      'BadRequest',
    );
    const withoutContentType = [
      { id: '1', method: 'POST', url: requests[1]?.url ?? '', body: { keyId: 'x' } },
    ];
    await expectGraphError(
      await graph(sim, token, 'POST', '/$batch', { body: { requests: withoutContentType } }),
      400,
      'BadRequest',
    );
    expect(sim.batchedRequestCount()).toBe(3);

    // What graph-client 3.0.7's BatchRequestContent sends for a full URL: Graph refuses the version segment.
    const versioned = [{ id: '1', method: 'GET', url: `/v1.0/applications/${app.objectId}` }];
    const refused = await json<BatchResponse>(
      await graph(sim, token, 'POST', '/$batch', { body: { requests: versioned } }),
    );
    expect(refused.responses[0]).toMatchObject({
      status: 400,
      body: { error: { code: 'BadRequest', message: "Resource not found for the segment 'v1.0'." } },
    });
  });

  it('throttles per tenant with 429 and Retry-After, per sub-request inside a $batch', async () => {
    const sim = await startSim({ graphRateLimit: { limit: 3, windowMs: 60_000 } });
    sim.addClient({ tenantId: OTHER_TENANT, clientId: ROTATOR, secret: ROTATOR_SECRET });
    const app = sim.addApp({ tenantId: TENANT, owners: [ROTATOR] });
    const token = await tokenFor(sim);
    for (let i = 0; i < 2; i++)
      expect((await graph(sim, token, 'GET', `/applications/${app.objectId}`)).status).toBe(200);

    const requests = ['a', 'b'].map((id) => ({ id, method: 'GET', url: `/applications/${app.objectId}` }));
    const batch = await json<BatchResponse>(
      await graph(sim, token, 'POST', '/$batch', { body: { requests } }),
    );
    expect(batch.responses.map((item) => item.status)).toEqual([200, 429]);
    expect(Number(batch.responses[1]?.headers['Retry-After'])).toBeGreaterThanOrEqual(59);

    const refused = await graph(sim, token, 'GET', `/applications/${app.objectId}`);
    await expectGraphError(refused, 429, 'TooManyRequests');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    const otherTenant = credential(sim, ROTATOR, ROTATOR_SECRET, OTHER_TENANT);
    const otherToken = (await otherTenant.getToken(scopeOf(sim))).token;
    expect((await graph(sim, otherToken, 'GET', '/applications')).status).toBe(200);
  });
});

describe('EntraGraphSimulator: faults', () => {
  let sim: EntraGraphSimulator;
  let token: string;
  let app: SimApp;
  beforeAll(async () => {
    sim = await startSim({ seed: 7 });
    app = sim.addApp({ tenantId: TENANT, owners: [ROTATOR] });
    token = await tokenFor(sim);
  });
  afterEach(() => {
    sim.resetFaults();
  });

  it('failNext answers before the handler: no key is created', async () => {
    sim.setFaults({ failNext: { count: 1, status: 503, endpoints: ['addPassword'] } });
    await expectGraphError(await addPassword(sim, token, app), 503, 'ServiceUnavailable');
    expect(sim.passwords(app.appId)).toHaveLength(0);
    expect((await graph(sim, token, 'GET', `/applications/${app.objectId}`)).status).toBe(200);
  });

  it('throttleNext answers 429 with Retry-After', async () => {
    sim.setFaults({ throttleNext: { count: 1, retryAfterSec: 7 } });
    const response = await graph(sim, token, 'GET', '/applications');
    await expectGraphError(response, 429, 'TooManyRequests');
    expect(response.headers.get('retry-after')).toBe('7');
  });

  it('hangNext never answers, until the client gives up', async () => {
    sim.setFaults({ hangNext: { count: 1, endpoints: ['getApp'] } });
    const hung = graph(sim, token, 'GET', `/applications/${app.objectId}`, {
      signal: AbortSignal.timeout(150),
    });
    await expect(hung).rejects.toThrow();
    expect(sim.calls().at(-1)).toMatchObject({ endpoint: 'getApp', status: 0, tenantId: TENANT });
  });

  it('errorRate 1 answers every Graph call 503, never the token endpoint', async () => {
    sim.setFaults({ errorRate: 1 });
    expect((await graph(sim, token, 'GET', '/applications')).status).toBe(503);
    expect(await tokenFor(sim)).toMatch(/^ey/);
  });

  it('faults reach the token endpoint only when named there', async () => {
    sim.setFaults({ failNext: { count: 1, status: 500, endpoints: ['token'] } });
    const form = {
      grant_type: 'client_credentials',
      client_id: ROTATOR,
      client_secret: ROTATOR_SECRET,
      scope: scopeOf(sim),
    };
    const failed = await postToken(sim, form);
    expect(failed.status).toBe(500);
    expect(await json<EntraErrorBody>(failed)).toMatchObject({ error: 'temporarily_unavailable' });
    expect((await postToken(sim, form)).status).toBe(200);
  });

  it('latencyMs delays Graph answers', async () => {
    sim.setFaults({ latencyMs: 120 });
    const startedAt = Date.now();
    expect((await graph(sim, token, 'GET', '/applications')).status).toBe(200);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(110);
  });

  it('ambiguousAddNext creates the key, then answers 500 or hangs', async () => {
    sim.setFaults({ ambiguousAddNext: { count: 1, mode: '500' } });
    const failed = await addPassword(sim, token, app, {
      displayName: 'rotator r-500',
      endDateTime: inDays(30),
    });
    await expectGraphError(failed, 500, 'InternalServerError');
    expect(sim.passwords(app.appId).map((password) => password.displayName)).toContain('rotator r-500');

    sim.setFaults({ ambiguousAddNext: { count: 1, mode: 'hang' } });
    const hung = graph(sim, token, 'POST', `/applications/${app.objectId}/addPassword`, {
      body: { passwordCredential: { displayName: 'rotator r-hang', endDateTime: inDays(30) } },
      signal: AbortSignal.timeout(150),
    });
    await expect(hung).rejects.toThrow();
    expect(sim.passwords(app.appId).map((password) => password.displayName)).toContain('rotator r-hang');
    expect((await addPassword(sim, token, app)).status).toBe(200);
  });

  it('the control plane sets and resets faults and shows state without secrets, and is not counted', async () => {
    const calls = sim.callCount();
    const set = await fetch(`${sim.graphEndpoint}/__sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ failNext: { count: 1, status: 502 } }),
    });
    expect(set.status).toBe(200);
    expect((await graph(sim, token, 'GET', '/applications')).status).toBe(502);
    const bad = await fetch(`${sim.graphEndpoint}/__sim/faults`, { method: 'POST', body: '{"nope":1}' });
    expect(bad.status).toBe(400);
    await fetch(`${sim.graphEndpoint}/__sim/reset-faults`, { method: 'POST' });
    expect(sim.faults().failNext.count).toBe(0);

    const stateText = await (await fetch(`${sim.graphEndpoint}/__sim/state`)).text();
    const state = JSON.parse(stateText) as {
      apps: { appId: string; passwords: unknown[] }[];
      callCounts: Record<string, number>;
    };
    expect(state.apps.find((item) => item.appId === app.appId)?.passwords.length).toBeGreaterThan(0);
    expect(state.callCounts['total']).toBe(sim.callCount());
    for (const secret of [...sim.issuedSecrets(), ...sim.issuedTokens()])
      expect(stateText).not.toContain(secret);
    expect(sim.callCount()).toBe(calls + 1);
  });

  it('close() releases hung requests', async () => {
    const closing = await startSim();
    const closingToken = await tokenFor(closing);
    closing.setFaults({ hangNext: { count: 1 } });
    const hung = graph(closing, closingToken, 'GET', '/applications');
    await delay(50);
    await closing.close();
    await expect(hung).rejects.toThrow();
  });
});
