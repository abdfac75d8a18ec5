import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { createTenantCredential, identityOptions } from '../../../src/azure/tenant-credential.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

function azureFor(cloud: string, auth: string, extra = '') {
  return parseConfig(
    `qualys: { gatewayUrl: https://gw.example, username: u, password: p }
azure:
  cloud: ${cloud}
${extra}
  tenants:
    - id: ${TENANT}
      auth: ${auth}
`,
    'inline',
  ).azure;
}

describe('per-cloud identity options', () => {
  it.each([
    ['public', 'https://login.microsoftonline.com', 'https://graph.microsoft.com/.default', false],
    ['usgov', 'https://login.microsoftonline.us', 'https://graph.microsoft.us/.default', false],
    ['usgov-dod', 'https://login.microsoftonline.us', 'https://dod-graph.microsoft.us/.default', false],
    ['china', 'https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn/.default', false],
  ])('%s: authority %s, scope %s, instance discovery kept', (cloud, authority, scope, disabled) => {
    const azure = azureFor(cloud, '{ kind: managedIdentity }');
    expect(identityOptions(azure)).toEqual({ authorityHost: authority, disableInstanceDiscovery: disabled });
    expect(azure.graphScope).toBe(scope);
  });

  it('custom: the given hosts, and no instance discovery (a sovereign or local authority cannot answer it)', () => {
    const azure = azureFor(
      'custom',
      '{ kind: managedIdentity }',
      '  authorityHost: https://login.sovereign.example\n  graphEndpoint: https://graph.sovereign.example',
    );
    expect(identityOptions(azure)).toEqual({
      authorityHost: 'https://login.sovereign.example',
      disableInstanceDiscovery: true,
    });
    expect(azure.graphScope).toBe('https://graph.sovereign.example/.default');
  });
});

describe('createTenantCredential', () => {
  it.each([
    [
      '{ kind: workloadIdentity, clientId: ' +
        CLIENT +
        ', tokenFilePath: /var/run/secrets/azure/tokens/token }',
      WorkloadIdentityCredential,
    ],
    ['{ kind: clientSecret, clientId: ' + CLIENT + ', clientSecret: s3cr3t-value }', ClientSecretCredential],
    ['{ kind: managedIdentity }', ManagedIdentityCredential],
    ['{ kind: managedIdentity, clientId: ' + CLIENT + ' }', ManagedIdentityCredential],
  ])('%s', (auth, kind) => {
    const azure = azureFor('public', auth);
    expect(createTenantCredential(azure.tenants[0]!, azure)).toBeInstanceOf(kind);
  });

  it('builds a certificate credential from the configured file', () => {
    const azure = azureFor(
      'public',
      `{ kind: clientCertificate, clientId: ${CLIENT}, certificateFile: ${import.meta.filename} }`,
    );
    expect(createTenantCredential(azure.tenants[0]!, azure)).toBeInstanceOf(ClientCertificateCredential);
  });
});
