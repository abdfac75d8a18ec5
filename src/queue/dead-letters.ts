import type { Job, Queue } from 'bullmq';
import type { DeadLetter } from '../rotation/report.ts';

/** A dead-letter item: what failed for good, for an operator to read and replay. No secret, ever. */
export interface DeadLetterItem {
  readonly id: string;
  readonly appId: string;
  readonly tenantId: string;
  readonly targetName: string;
  /** The connectors the failure concerns (one for a failed pair, all the target's for a whole-target failure). */
  readonly connectors: readonly string[];
  readonly step: string;
  readonly errorCode: string;
  readonly message: string;
  readonly attempts: number;
  readonly rotationId: string;
  readonly firstFailureAt: string;
  readonly lastFailureAt: string;
}

export interface DeadLetterFilter {
  readonly appId?: string | undefined;
  readonly connectorId?: string | undefined;
  readonly errorCode?: string | undefined;
}

/** One item per (app, connector) — or per app for a whole-target failure — so repeats do not pile up. */
export function deadLetterId(appId: string, connectorId: string | undefined): string {
  return `dl-${appId}-${connectorId ?? 'all'}`;
}

const PAGE = 500;

/**
 * The dead-letter queue: a BullMQ queue that no worker consumes, so its items wait until an operator
 * replays or purges them. Items are jobs named `dead-letter` whose data is a `DeadLetterItem`.
 */
export class DeadLetters {
  readonly #queue: Queue;

  constructor(queue: Queue) {
    this.#queue = queue;
  }

  get queue(): Queue {
    return this.#queue;
  }

  /** Records a failure; a repeat of the same (app, connector) updates its item. */
  async record(
    letter: DeadLetter,
    context: { targetName: string; connectors: readonly string[]; attempts: number },
  ): Promise<DeadLetterItem> {
    const id = deadLetterId(letter.appId, letter.connectorId);
    const existing = (await this.#queue.getJob(id)) as Job<DeadLetterItem> | undefined;
    const item: DeadLetterItem = {
      id,
      appId: letter.appId,
      tenantId: letter.tenantId,
      targetName: context.targetName,
      connectors: letter.connectorId === undefined ? [...context.connectors] : [letter.connectorId],
      step: letter.step,
      errorCode: letter.errorCode,
      message: letter.message,
      attempts: (existing?.data.attempts ?? 0) + context.attempts,
      rotationId: letter.rotationId,
      firstFailureAt: existing?.data.firstFailureAt ?? letter.at,
      lastFailureAt: letter.at,
    };
    if (existing) await existing.updateData(item);
    else
      await this.#queue.add('dead-letter', item, { jobId: id, removeOnComplete: true, removeOnFail: true });
    return item;
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterItem[]> {
    const items: DeadLetterItem[] = [];
    for (let start = 0; ; start += PAGE) {
      const jobs = (await this.#queue.getJobs(
        ['waiting', 'prioritized'],
        start,
        start + PAGE - 1,
        true,
      )) as Job<DeadLetterItem>[];
      items.push(...jobs.map((job) => job.data));
      if (jobs.length < PAGE) break;
    }
    return items
      .filter((item) => matches(item, filter))
      .sort((a, b) => a.lastFailureAt.localeCompare(b.lastFailureAt));
  }

  async get(id: string): Promise<DeadLetterItem | undefined> {
    const job = (await this.#queue.getJob(id)) as Job<DeadLetterItem> | undefined;
    return job?.data;
  }

  async remove(ids: readonly string[]): Promise<number> {
    let removed = 0;
    for (const id of ids) removed += (await this.#queue.remove(id)) > 0 ? 1 : 0;
    return removed;
  }

  /** Drops items whose last failure is older than `retentionMs`. */
  async clean(retentionMs: number, now: number): Promise<number> {
    const stale = (await this.list()).filter((item) => Date.parse(item.lastFailureAt) < now - retentionMs);
    return this.remove(stale.map((item) => item.id));
  }

  async count(): Promise<number> {
    return this.#queue.getJobCountByTypes('waiting', 'prioritized');
  }
}

function matches(item: DeadLetterItem, filter: DeadLetterFilter): boolean {
  return (
    (filter.appId === undefined ||
      item.appId === filter.appId.toLowerCase() ||
      item.targetName.toLowerCase() === filter.appId.toLowerCase()) &&
    (filter.connectorId === undefined || item.connectors.includes(filter.connectorId.toLowerCase())) &&
    (filter.errorCode === undefined || item.errorCode === filter.errorCode)
  );
}
