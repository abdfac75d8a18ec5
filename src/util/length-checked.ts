import { z } from 'zod';

/**
 * zod runs a length check (`.min()`, `.max()`) on any value with a `length` key, even after its type
 * check failed, and comparing `{"length": {"toString": 1}}` throws a TypeError out of `safeParse`
 * instead of giving an issue (a crash for the config loader, a 500 for the admin API). An object is
 * never valid where text or a list belongs: it reaches the schema as `{}`, which fails the type check
 * all the same, with nothing for the length check to read.
 */
export const lengthChecked = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (value) => (typeof value === 'object' && value !== null && !Array.isArray(value) ? {} : value),
    schema,
  );
