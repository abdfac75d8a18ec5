import type { Command } from 'commander';
import type { DeadLetterItem } from '../queue/dead-letters.ts';
import {
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetters,
  showDeadLetter,
  type DeadLetterSelection,
} from '../queue/operations.ts';
import { openQueues, type Queues } from '../queue/rotation-queue.ts';
import type { Runtime } from '../app/runtime.ts';
import { ExitCode } from './exit-codes.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './rotate-command.ts';
import { withRuntime } from './with-runtime.ts';

const CONFIG_FLAGS = '-c, --config <file>';
const CONFIG_HELP = 'configuration file (default: $ROTATOR_CONFIG)';

interface SelectOptions {
  config?: string;
  app?: string;
  all?: boolean;
  json?: boolean;
}

export function registerDlqCommand(program: Command, io: CliIo): void {
  const dlq = program
    .command('dlq')
    .description('the dead-letter queue: rotations that failed for good, to inspect, replay or purge');

  dlq
    .command('list')
    .description('list dead letters, oldest last failure first')
    .option(CONFIG_FLAGS, CONFIG_HELP)
    .option('--app <id>', 'only this app (appId or target name)')
    .option('--connector <uuid>', 'only items about this connector')
    .option('--code <code>', 'only this error code, e.g. ROT_ERR_GRAPH_PERMISSION')
    .option('--json', 'print the result as JSON')
    .action(
      async (options: {
        config?: string;
        app?: string;
        connector?: string;
        code?: string;
        json?: boolean;
      }) => {
        const code = await withQueues(io, options.config, async (_runtime, queues) => {
          const filter = { appId: options.app, connectorId: options.connector, errorCode: options.code };
          const items = await listDeadLetters(queues, filter);
          const filtered = Object.values(filter).some((value) => value !== undefined);
          io.out(
            options.json === true
              ? JSON.stringify({ items }, null, 2)
              : items.length === 0
                ? filtered
                  ? 'no dead letters match'
                  : 'the dead-letter queue is empty'
                : items.map(describeItem).join('\n'),
          );
          return ExitCode.ok;
        });
        io.exit(code);
      },
    );

  dlq
    .command('show')
    .description('show one dead letter (exit 1 when there is none with this id)')
    .argument('<id>', 'the item id, as dlq list prints it')
    .option(CONFIG_FLAGS, CONFIG_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { config?: string; json?: boolean }) => {
      const code = await withQueues(io, options.config, async (_runtime, queues) => {
        const item = await showDeadLetter(queues, id);
        if (item === undefined) {
          io.err(`rotator: no dead letter has the id ${id}`);
          return ExitCode.failure;
        }
        io.out(options.json === true ? JSON.stringify(item, null, 2) : showItem(item));
        return ExitCode.ok;
      });
      io.exit(code);
    });

  selectingItems(
    dlq
      .command('replay')
      .description(
        'queue a forced rotation of the app of each selected item, then remove the items (exit 1 if some could not be replayed)',
      ),
  ).action(async (ids: string[], options: SelectOptions) => {
    const selection = selectionOf(ids, options);
    const code = await withQueues(io, options.config, async (runtime, queues) => {
      const result = await replayDeadLetters(queues, runtime.config, selection);
      if (options.json === true) io.out(JSON.stringify(result, null, 2));
      else {
        const lines = [
          ...result.replayed.map(
            (entry) =>
              `${entry.name} (${entry.appId}): ${entry.state === 'queued' ? 'forced rotation queued' : 'joined the waiting rotation, now forced'}; removed ${entry.items.join(', ')}`,
          ),
          ...result.left.map((entry) => `${entry.appId}: left ${entry.items.join(', ')}: ${entry.reason}`),
          ...result.notFound.map((id) => `${id}: no such dead letter`),
        ];
        io.out(lines.length === 0 ? 'no dead letters match' : lines.join('\n'));
      }
      return result.left.length > 0 || result.notFound.length > 0 ? ExitCode.failure : ExitCode.ok;
    });
    io.exit(code);
  });

  selectingItems(
    dlq
      .command('purge')
      .description('remove dead letters without replaying them (exit 1 if an id does not exist)'),
  ).action(async (ids: string[], options: SelectOptions) => {
    const selection = selectionOf(ids, options);
    const code = await withQueues(io, options.config, async (_runtime, queues) => {
      const result = await purgeDeadLetters(queues, selection);
      if (options.json === true) io.out(JSON.stringify(result, null, 2));
      else
        io.out(
          [
            `removed ${result.removed.length} dead letter(s)${result.removed.length > 0 ? `: ${result.removed.join(', ')}` : ''}`,
            ...result.notFound.map((id) => `${id}: no such dead letter`),
          ].join('\n'),
        );
      return result.notFound.length > 0 ? ExitCode.failure : ExitCode.ok;
    });
    io.exit(code);
  });
}

async function withQueues(
  io: CliIo,
  configPath: string | undefined,
  work: (runtime: Runtime, queues: Queues) => Promise<number>,
): Promise<number> {
  return withRuntime(io, configPath, async (runtime) => {
    const queues = openQueues(runtime.redis, runtime.config.redis.keyPrefix);
    try {
      return await work(runtime, queues);
    } finally {
      await queues.close();
    }
  });
}

function selectionOf(ids: readonly string[], options: SelectOptions): DeadLetterSelection {
  const given = [ids.length > 0, options.app !== undefined, options.all === true].filter(Boolean).length;
  if (given !== 1)
    throw new UsageError(
      given === 0
        ? 'say which dead letters: <id...>, --app <id> or --all'
        : 'give only one of <id...>, --app and --all',
    );
  if (options.all === true) return { all: true };
  if (options.app !== undefined) return { filter: { appId: options.app } };
  return { ids };
}

function describeItem(item: DeadLetterItem): string {
  return [
    `${item.id}  ${item.targetName} (${item.appId})  step ${item.step}  ${item.errorCode}  attempts ${item.attempts}  last ${item.lastFailureAt}`,
    `    connectors ${item.connectors.join(', ') || '-'}`,
    `    ${item.message}`,
  ].join('\n');
}

function showItem(item: DeadLetterItem): string {
  const fields: [string, string][] = [
    ['id', item.id],
    ['target', item.targetName],
    ['app', item.appId],
    ['tenant', item.tenantId],
    ['connectors', item.connectors.join(', ') || '-'],
    ['step', item.step],
    ['error', item.errorCode],
    ['message', item.message],
    ['attempts', String(item.attempts)],
    ['rotation', item.rotationId],
    ['first failure', item.firstFailureAt],
    ['last failure', item.lastFailureAt],
  ];
  const width = Math.max(...fields.map(([name]) => name.length));
  return fields.map(([name, value]) => `${`${name}:`.padEnd(width + 1)} ${value}`).join('\n');
}

/** The ways `replay` and `purge` select items: ids, one app, or all. */
function selectingItems(command: Command): Command {
  return command
    .argument('[ids...]', 'item ids')
    .option(CONFIG_FLAGS, CONFIG_HELP)
    .option('--app <id>', 'every item of this app (appId or target name)')
    .option('--all', 'every item')
    .option('--json', 'print the result as JSON');
}
