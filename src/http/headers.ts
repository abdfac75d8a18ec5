export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

/** Header lookup that ignores case and takes the first value of a repeated header. */
export function header(headers: HeaderBag, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}
