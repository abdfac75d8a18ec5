/** A "next `count` matching calls" fault: no endpoints named means the simulator's API proper. */
export interface CountFault<E extends string> {
  count: number;
  endpoints?: E[];
}

/** A copy of the endpoints, or nothing when none are named (so the key stays absent). */
export function copyEndpoints<E extends string>(endpoints?: readonly E[]): { endpoints?: E[] } {
  return endpoints === undefined ? {} : { endpoints: [...endpoints] };
}

/** A copy of a count fault whose endpoints, when named, are copied too. */
export function copyCountFault<T extends { endpoints?: string[] }>(fault: T): T {
  return { ...fault, ...copyEndpoints(fault.endpoints) };
}

/**
 * Uses up one of the fault's calls when it is armed and matches the endpoint: one it names, or any of
 * the simulator's API proper (`isDefaultTarget`) when it names none. True when it did.
 */
export function takeCountFault<E extends string>(
  fault: { count: number; readonly endpoints?: readonly E[] },
  endpoint: E,
  isDefaultTarget: (endpoint: E) => boolean,
): boolean {
  if (fault.count <= 0) return false;
  const applies =
    fault.endpoints === undefined ? isDefaultTarget(endpoint) : fault.endpoints.includes(endpoint);
  if (!applies) return false;
  fault.count--;
  return true;
}
