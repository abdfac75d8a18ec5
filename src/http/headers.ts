export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

/**
 * Header lookup that ignores case and takes the first value of a repeated header. Values that are not
 * text are skipped: the headers of a Graph `$batch` sub-response come from JSON, where `"Retry-After": 5`
 * or `null` is one careless server away, and callers `.trim()` what they get.
 */
export function header(headers: HeaderBag, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers) as [string, unknown][]) {
    if (key.toLowerCase() !== wanted) continue;
    const first: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
    if (typeof first === 'string') return first;
  }
  return undefined;
}
