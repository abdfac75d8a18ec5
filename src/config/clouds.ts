/** Where the rotator finds Entra ID and Microsoft Graph for each Azure cloud. */
export interface CloudEndpoints {
  /** Entra ID authority host, e.g. `https://login.microsoftonline.com`. */
  readonly authorityHost: string;
  /** Graph base URL without the version segment, e.g. `https://graph.microsoft.com`. */
  readonly graphEndpoint: string;
}

export const AZURE_CLOUDS = {
  public: {
    authorityHost: 'https://login.microsoftonline.com',
    graphEndpoint: 'https://graph.microsoft.com',
  },
  usgov: {
    authorityHost: 'https://login.microsoftonline.us',
    graphEndpoint: 'https://graph.microsoft.us',
  },
  'usgov-dod': {
    authorityHost: 'https://login.microsoftonline.us',
    graphEndpoint: 'https://dod-graph.microsoft.us',
  },
  china: {
    authorityHost: 'https://login.chinacloudapi.cn',
    graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn',
  },
} as const satisfies Record<string, CloudEndpoints>;

export type NamedCloud = keyof typeof AZURE_CLOUDS;
export const CLOUD_NAMES = [...(Object.keys(AZURE_CLOUDS) as NamedCloud[]), 'custom'] as const;
export type CloudName = (typeof CLOUD_NAMES)[number];

/** The OAuth scope that grants a Graph token; it follows the Graph host of the cloud. */
export function graphScope(graphEndpoint: string): string {
  return `${new URL(graphEndpoint).origin}/.default`;
}
