/** Keys that carry secret material wherever they appear. Matching is by key name, at any depth up to 3. */
const SECRET_KEYS = [
  'password',
  'secret',
  'secretKey',
  'secretText',
  'clientSecret',
  'client_secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'authorization',
  'Authorization',
  'cookie',
  'Cookie',
  'set-cookie',
  'appCredentials',
  'body',
] as const;

/** pino `redact` paths for every secret key at the top level and up to three levels deep. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const leaf = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  const join = (prefix: string) => (leaf.startsWith('[') ? `${prefix}${leaf}` : `${prefix}.${leaf}`);
  return [leaf, join('*'), join('*.*'), join('*.*.*')];
});

export const REDACTED = '[REDACTED]';
