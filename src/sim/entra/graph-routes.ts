/** How a Graph URL names an application: by its object id, or by the appId alternate key. */
export interface AppKey {
  readonly by: 'objectId' | 'appId';
  readonly value: string;
}

export type GraphRoute =
  | { readonly endpoint: 'getApp'; readonly method: 'GET'; readonly app: AppKey }
  | { readonly endpoint: 'listApps'; readonly method: 'GET' }
  | { readonly endpoint: 'addPassword'; readonly method: 'POST'; readonly app: AppKey }
  | { readonly endpoint: 'removePassword'; readonly method: 'POST'; readonly app: AppKey }
  | { readonly endpoint: 'batch'; readonly method: 'POST' }
  /** `segment` is the first path segment Graph could not resolve, for its error message. */
  | { readonly endpoint: 'other'; readonly segment: string };

export const GRAPH_VERSION = 'v1.0';

const APP_ID_SEGMENT = /^applications\(appId='([^']*)'\)$/;

/** The application a path addresses and the segments after it, or undefined when it addresses none. */
function appOf(segments: readonly string[]): { key: AppKey; tail: readonly string[] } | undefined {
  const [first, second] = segments;
  const alternate = first === undefined ? null : APP_ID_SEGMENT.exec(first);
  if (alternate !== null) return { key: { by: 'appId', value: alternate[1] ?? '' }, tail: segments.slice(1) };
  if (first === 'applications' && second !== undefined) {
    return { key: { by: 'objectId', value: second }, tail: segments.slice(2) };
  }
  return undefined;
}

/** Graph also accepts an action by its namespace-qualified name. */
function actionName(segment: string): string {
  return segment.startsWith('microsoft.graph.') ? segment.slice('microsoft.graph.'.length) : segment;
}

/**
 * Classifies a Graph path (query string removed, percent-decoded), e.g. `/v1.0/applications/{id}`.
 * The method is not considered: a known path with the wrong method is still that endpoint.
 */
export function graphRouteOf(path: string): GraphRoute {
  const [version, ...segments] = path.split('/').filter((segment) => segment !== '');
  if (version !== GRAPH_VERSION) return { endpoint: 'other', segment: version ?? '' };
  const [first, second] = segments;
  if (first === undefined) return { endpoint: 'other', segment: '' };
  if (first === '$batch' && second === undefined) return { endpoint: 'batch', method: 'POST' };
  if (first === 'applications' && second === undefined) return { endpoint: 'listApps', method: 'GET' };

  const app = appOf(segments);
  if (app === undefined) return { endpoint: 'other', segment: first };
  const [action, beyond] = app.tail;
  if (action === undefined) return { endpoint: 'getApp', method: 'GET', app: app.key };
  if (beyond !== undefined) return { endpoint: 'other', segment: beyond };
  switch (actionName(action)) {
    case 'addPassword':
      return { endpoint: 'addPassword', method: 'POST', app: app.key };
    case 'removePassword':
      return { endpoint: 'removePassword', method: 'POST', app: app.key };
    default:
      return { endpoint: 'other', segment: action };
  }
}
