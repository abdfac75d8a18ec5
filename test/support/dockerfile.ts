import { matchesGlob, posix } from 'node:path';

/**
 * Just enough of a Dockerfile parser for the tests to read what an image holds and how it starts, without a
 * container engine: line continuations, comments and parser directives, ARG (global and per stage) and
 * variable substitution, FROM … AS, ENV, LABEL, WORKDIR, USER, COPY/ADD (with --from), EXPOSE, RUN and the
 * exec and shell forms of ENTRYPOINT and CMD. Not supported: heredocs, a custom escape character, ONBUILD.
 */

export interface Copy {
  /** --from: a stage name or an image; undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  /** Absolute, resolved against the WORKDIR in force. */
  readonly destination: string;
  /** The destination was written with a trailing slash (or there are several sources): a directory. */
  readonly intoDirectory: boolean;
}

export interface Stage {
  readonly name: string | undefined;
  /** FROM, variables substituted: an image reference or the name of an earlier stage. */
  readonly from: string;
  /** The stage named by FROM, when it is one. */
  readonly parent: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** '/' until a WORKDIR says otherwise. */
  readonly workdir: string;
  readonly user: string | undefined;
  readonly copies: readonly Copy[];
  readonly runs: readonly string[];
  readonly expose: readonly string[];
  /** Exec form as written; a shell form becomes ['/bin/sh', '-c', text]. Undefined: inherited from the image. */
  readonly entrypoint: readonly string[] | undefined;
  readonly cmd: readonly string[] | undefined;
}

export interface Dockerfile {
  /** The ARGs declared before the first FROM, with their defaults ('' when none). */
  readonly args: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

interface Instruction {
  readonly keyword: string;
  readonly rest: string;
  readonly line: number;
}

type MutableStage = { -readonly [K in keyof Stage]: Stage[K] } & {
  env: Record<string, string>;
  labels: Record<string, string>;
  copies: Copy[];
  runs: string[];
  expose: string[];
  args: Record<string, string>;
};

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: MutableStage[] = [];
  for (const instruction of logicalLines(text)) {
    const current = stages.at(-1);
    try {
      if (instruction.keyword === 'FROM') stages.push(startStage(instruction.rest, globalArgs, stages));
      else if (current === undefined) {
        if (instruction.keyword !== 'ARG') throw new Error('only ARG may come before the first FROM');
        Object.assign(globalArgs, declareArgs(instruction.rest, globalArgs, globalArgs));
      } else applyInstruction(current, instruction, globalArgs);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword}: ${reason}`, {
        cause: error,
      });
    }
  }
  if (stages.length === 0) throw new Error('Dockerfile: no FROM');
  return { args: globalArgs, stages: stages.map(({ args: _args, ...stage }) => stage) };
}

/** The stage that `docker build` without --target produces. */
export function finalStage(dockerfile: Dockerfile): Stage {
  const last = dockerfile.stages.at(-1);
  if (last === undefined) throw new Error('Dockerfile: no stage');
  return last;
}

export function stageNamed(dockerfile: Dockerfile, name: string): Stage {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name);
  if (stage === undefined) throw new Error(`Dockerfile: no stage named ${name}`);
  return stage;
}

/**
 * Where a COPY puts `source` in the image. A directory's contents go to the destination itself; a file goes
 * into the destination when that is a directory.
 */
export function copyTarget(copy: Copy, source: string, sourceIsDirectory: boolean): string {
  if (sourceIsDirectory || !copy.intoDirectory) return copy.destination;
  return posix.join(copy.destination, posix.basename(source));
}

// --- lines and words -----------------------------------------------------------------------------------------

/** Instructions with their continuations joined; comment lines (also inside a continuation) dropped. */
function logicalLines(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: string[] = [];
  let startLine = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending.length === 0)) return;
    if (pending.length === 0) startLine = index + 1;
    const continued = trimmed.endsWith('\\');
    pending.push(continued ? trimmed.slice(0, -1).trim() : trimmed);
    if (continued) return;
    instructions.push(toInstruction(pending.filter((part) => part !== '').join(' '), startLine));
    pending = [];
  });
  if (pending.length > 0) instructions.push(toInstruction(pending.join(' '), startLine));
  return instructions;
}

function toInstruction(text: string, line: number): Instruction {
  const match = /^(\S+)\s*(.*)$/s.exec(text);
  if (match === null) throw new Error(`Dockerfile line ${line}: empty instruction`);
  return { keyword: match[1]!.toUpperCase(), rest: match[2]!.trim(), line };
}

/** Splits on unquoted whitespace; quotes are removed and a backslash escapes the next character. */
export function words(text: string): string[] {
  const result: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quote === undefined && /\s/.test(char)) {
      if (word !== undefined) result.push(word);
      word = undefined;
    } else if (char === '\\' && quote !== "'" && index + 1 < text.length) {
      index += 1;
      word = (word ?? '') + text[index]!;
    } else if ((char === '"' || char === "'") && (quote === undefined || quote === char)) {
      quote = quote === undefined ? char : undefined;
      word ??= '';
    } else word = (word ?? '') + char;
  }
  if (quote !== undefined) throw new Error('unterminated quote');
  if (word !== undefined) result.push(word);
  return result;
}

/** `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alternative}`; unknown names are empty. */
export function substitute(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_match, braced: string | undefined, operator: string | undefined, word: string | undefined, bare) => {
      const name = braced ?? (bare as string);
      const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
      if (operator === '-') return value === undefined || value === '' ? (word ?? '') : value;
      if (operator === '+') return value === undefined || value === '' ? '' : (word ?? '');
      return value ?? '';
    },
  );
}

/** `k=v k2="v 2"`, or the legacy `k v` form for ENV. */
function keyValues(text: string, legacy: boolean): Record<string, string> {
  const parts = words(text);
  const first = parts[0];
  if (first === undefined) throw new Error('nothing to set');
  if (!first.includes('=')) {
    if (!legacy) throw new Error(`expected key=value, got ${first}`);
    return { [first]: text.slice(text.indexOf(first) + first.length).trim() };
  }
  const result: Record<string, string> = {};
  for (const part of parts) {
    const equals = part.indexOf('=');
    if (equals <= 0) throw new Error(`expected key=value, got ${part}`);
    result[part.slice(0, equals)] = part.slice(equals + 1);
  }
  return result;
}

// --- instructions --------------------------------------------------------------------------------------------

function startStage(rest: string, globalArgs: Record<string, string>, stages: MutableStage[]): MutableStage {
  const parts = words(substitute(rest, globalArgs)).filter((part) => !part.startsWith('--platform='));
  const [from, as, name, ...extra] = parts;
  const named = as?.toUpperCase() === 'AS' && name !== undefined;
  if (from === undefined || extra.length > 0 || (as !== undefined && !named))
    throw new Error(`cannot read FROM ${rest}`);
  const parent = stages.find((stage) => stage.name === from);
  return {
    name: named ? name : undefined,
    from,
    parent: parent?.name,
    env: { ...parent?.env },
    labels: { ...parent?.labels },
    workdir: parent?.workdir ?? '/',
    user: parent?.user,
    copies: [],
    runs: [],
    expose: [],
    entrypoint: parent?.entrypoint,
    cmd: parent?.cmd,
    args: {},
  };
}

/** ARG NAME[=default] …; a name without a default takes the global ARG's value when there is one. */
function declareArgs(
  rest: string,
  globalArgs: Readonly<Record<string, string>>,
  vars: Readonly<Record<string, string>>,
): Record<string, string> {
  const declared: Record<string, string> = {};
  for (const part of words(rest)) {
    const equals = part.indexOf('=');
    if (equals < 0) declared[part] = globalArgs[part] ?? '';
    else declared[part.slice(0, equals)] = substitute(part.slice(equals + 1), vars);
  }
  return declared;
}

function applyInstruction(
  stage: MutableStage,
  { keyword, rest }: Instruction,
  globalArgs: Record<string, string>,
) {
  // ENV wins over ARG of the same name, as in Docker.
  const vars = { ...stage.args, ...stage.env };
  const expand = (value: string) => substitute(value, vars);
  switch (keyword) {
    case 'ARG':
      Object.assign(stage.args, declareArgs(rest, globalArgs, vars));
      return;
    case 'ENV':
      for (const [key, value] of Object.entries(keyValues(rest, true))) stage.env[key] = expand(value);
      return;
    case 'LABEL':
      for (const [key, value] of Object.entries(keyValues(rest, false))) stage.labels[key] = expand(value);
      return;
    case 'WORKDIR':
      stage.workdir = posix.resolve(stage.workdir, expand(rest));
      return;
    case 'USER':
      stage.user = expand(rest);
      return;
    case 'COPY':
    case 'ADD':
      stage.copies.push(readCopy(rest, stage.workdir, expand));
      return;
    case 'EXPOSE':
      stage.expose.push(...words(expand(rest)));
      return;
    case 'RUN':
      stage.runs.push(rest);
      return;
    case 'ENTRYPOINT':
      stage.entrypoint = commandLine(rest);
      // As in Docker: a new ENTRYPOINT drops the CMD inherited from the parent.
      stage.cmd = undefined;
      return;
    case 'CMD':
      stage.cmd = commandLine(rest);
      return;
    case 'ONBUILD':
      throw new Error('not supported');
    default:
      // HEALTHCHECK, STOPSIGNAL, SHELL, VOLUME, MAINTAINER: nothing the tests read.
      return;
  }
}

function readCopy(rest: string, workdir: string, expand: (value: string) => string): Copy {
  const options: Record<string, string> = {};
  let remaining = rest;
  for (let match = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(remaining); match;) {
    options[match[1]!] = match[2] ?? 'true';
    remaining = remaining.slice(match[0].length);
    match = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(remaining);
  }
  const paths = remaining.startsWith('[') ? stringArray(remaining) : words(remaining);
  const expanded = paths.map(expand);
  const destination = expanded.at(-1);
  if (destination === undefined || expanded.length < 2) throw new Error('needs a source and a destination');
  const sources = expanded.slice(0, -1);
  return {
    from: options.from === undefined ? undefined : expand(options.from),
    sources,
    destination: posix.resolve(workdir, destination),
    intoDirectory: destination.endsWith('/') || sources.length > 1,
  };
}

function commandLine(rest: string): string[] {
  return rest.startsWith('[') ? stringArray(rest) : ['/bin/sh', '-c', rest];
}

function stringArray(text: string): string[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((item): item is string => typeof item === 'string'))
    throw new Error(`expected a JSON array of strings: ${text}`);
  return parsed;
}

// --- .dockerignore -------------------------------------------------------------------------------------------

export interface IgnorePattern {
  readonly pattern: string;
  /** A `!` line: re-includes what an earlier pattern excluded. */
  readonly negated: boolean;
}

export function parseDockerignore(text: string): IgnorePattern[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const body = negated ? line.slice(1).trim() : line;
      return { pattern: posix.normalize(body).replace(/^\/+|\/+$/g, ''), negated };
    });
}

/**
 * Whether the build context leaves out `path` (relative to the context): the last pattern that matches it
 * or one of its parent directories decides, as in Docker.
 */
export function isIgnored(patterns: readonly IgnorePattern[], path: string): boolean {
  const segments = posix.normalize(path).split('/');
  const candidates = segments.map((_segment, index) => segments.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const { pattern, negated } of patterns) {
    if (candidates.some((candidate) => matchesGlob(candidate, pattern))) ignored = !negated;
  }
  return ignored;
}
