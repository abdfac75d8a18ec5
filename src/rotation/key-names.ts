import { randomBytes } from 'node:crypto';

/** The displayName prefix of every key the rotator creates: how a managed key is recognised. */
export const MANAGED_PREFIX = 'rotator ';

/** `r-20261203T174512Z-3fa9c1`: sortable by time, unique, and free of ':' (BullMQ job ids forbid it). */
export function newRotationId(nowMs: number): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `r-${stamp}-${randomBytes(3).toString('hex')}`;
}

export function keyDisplayName(rotationId: string): string {
  return `${MANAGED_PREFIX}${rotationId}`;
}

export function isManagedKey(displayName: string | null): boolean {
  return displayName !== null && displayName.startsWith(`${MANAGED_PREFIX}r-`);
}
