import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import type { AzureConfig, TenantConfig } from '../config/types.ts';

/**
 * Options every credential shares. Instance discovery asks the public cloud about the authority, which
 * a sovereign or custom authority (and our simulator) cannot answer, so it is skipped for `custom`.
 */
export function identityOptions(azure: AzureConfig): {
  authorityHost: string;
  disableInstanceDiscovery: boolean;
} {
  return { authorityHost: azure.authorityHost, disableInstanceDiscovery: azure.cloud === 'custom' };
}

/** The rotator's own identity in one tenant, as the configuration describes it. */
export function createTenantCredential(tenant: TenantConfig, azure: AzureConfig): TokenCredential {
  const common = identityOptions(azure);
  const { auth } = tenant;
  switch (auth.kind) {
    case 'workloadIdentity':
      // Without explicit values, AKS's injected AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE apply.
      return new WorkloadIdentityCredential({
        ...common,
        tenantId: tenant.id,
        ...(auth.clientId === undefined ? {} : { clientId: auth.clientId }),
        ...(auth.tokenFilePath === undefined ? {} : { tokenFilePath: auth.tokenFilePath }),
      });
    case 'clientSecret':
      return new ClientSecretCredential(tenant.id, auth.clientId, auth.clientSecret.reveal(), common);
    case 'clientCertificate':
      return new ClientCertificateCredential(
        tenant.id,
        auth.clientId,
        {
          certificatePath: auth.certificateFile,
          ...(auth.certificatePassword === undefined
            ? {}
            : { certificatePassword: auth.certificatePassword.reveal() }),
        },
        { ...common, sendCertificateChain: auth.sendCertificateChain },
      );
    case 'managedIdentity':
      return auth.clientId === undefined
        ? new ManagedIdentityCredential()
        : new ManagedIdentityCredential({ clientId: auth.clientId });
  }
}
