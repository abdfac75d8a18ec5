import { z } from 'zod';
import { configSchema } from './schema.ts';

/** A JSON Schema document, as plain data. */
export type JsonSchema = { readonly [key: string]: unknown };

/**
 * The configuration file's JSON Schema (draft-07), generated from the same zod schema the loader uses, so
 * an editor, the Helm chart's values.schema.json and the loader cannot disagree about which keys exist.
 * It describes the file as written (`io: 'input'`): durations are text, defaults are shown. Checks that
 * JSON Schema cannot express (cron patterns, time zones, files that must exist) stay with the loader.
 */
export function configJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-07',
    // Refinements (cron, URLs) have no JSON form; their base type is kept.
    unrepresentable: 'any',
  }) as JsonSchema;
  return {
    ...generated,
    title: 'Qualys secondary-application secret rotator configuration',
  };
}
