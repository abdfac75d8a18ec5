import { globSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  copyTarget,
  finalStage,
  isIgnored,
  parseDockerfile,
  parseDockerignore,
  stageNamed,
  type Stage,
} from '../support/dockerfile.ts';

/**
 * What the production image is made of and how it starts, read from the Dockerfile (no container engine
 * needed); test/integration/image-start.test.ts then runs that start command. First the parser itself.
 */

const REPO = join(import.meta.dirname, '../..');
const dockerfile = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const image = finalStage(dockerfile);
const ignore = parseDockerignore(readFileSync(join(REPO, '.dockerignore'), 'utf8'));

describe('parseDockerfile', () => {
  const sample = parseDockerfile(`# syntax=docker/dockerfile:1
ARG BASE=debian:12
ARG TAG
FROM \${BASE}-slim AS build
WORKDIR /src
RUN apt-get update \\
  # a comment inside a continuation is dropped
  && apt-get install -y tini
ENV A=1 B="two words" \\
    C=\${A}
ENV LEGACY value with spaces
COPY --from=other --chown=1:1 ["a b", "c", "out/"]
CMD echo hi

FROM build
WORKDIR app
ENTRYPOINT ["/bin/x", "--"]
COPY file ./dest
USER 10:20
`);

  it('joins continuations, drops comments and substitutes global ARGs in FROM', () => {
    expect(sample.args).toEqual({ BASE: 'debian:12', TAG: '' });
    const [build] = sample.stages;
    expect(build).toMatchObject({ name: 'build', from: 'debian:12-slim', parent: undefined });
    expect(build?.runs).toEqual(['apt-get update && apt-get install -y tini']);
  });

  it('reads ENV (both forms, substituted with the values before the line), COPY and CMD', () => {
    const [build] = sample.stages;
    // C=${A} is expanded with what A was before this ENV line: unset.
    expect(build?.env).toEqual({ A: '1', B: 'two words', C: '', LEGACY: 'value with spaces' });
    expect(build?.copies).toEqual([
      { from: 'other', sources: ['a b', 'c'], destination: '/src/out', intoDirectory: true },
    ]);
    expect(build?.cmd).toEqual(['/bin/sh', '-c', 'echo hi']);
  });

  it('inherits from an earlier stage; ENTRYPOINT drops the inherited CMD; paths follow WORKDIR', () => {
    const last = finalStage(sample);
    expect(last).toMatchObject({ name: undefined, from: 'build', parent: 'build', workdir: '/src/app' });
    expect(last.env.B).toBe('two words');
    expect(last.entrypoint).toEqual(['/bin/x', '--']);
    expect(last.cmd).toBeUndefined();
    expect(last.user).toBe('10:20');
    const [copy] = last.copies;
    expect(copy).toMatchObject({ from: undefined, destination: '/src/app/dest', intoDirectory: false });
    expect(copyTarget(copy!, 'file', false)).toBe('/src/app/dest');
    expect(copyTarget(sample.stages[0]!.copies[0]!, 'c', false)).toBe('/src/out/c');
  });

  it('refuses what it cannot read', () => {
    expect(() => parseDockerfile('RUN true\n')).toThrow(/only ARG may come before the first FROM/);
    expect(() => parseDockerfile('FROM a\nCMD ["unterminated"\n')).toThrow(/line 2: CMD/);
    expect(() => parseDockerfile('FROM a\nENV A="x\n')).toThrow(/unterminated quote/);
  });
});

describe('the Dockerfile', () => {
  const externalStages = dockerfile.stages.filter((stage) => stage.parent === undefined);

  it('builds every stage on the same Node 24 image, pinned to a full version', () => {
    expect(externalStages.length).toBeGreaterThanOrEqual(2);
    for (const stage of externalStages) {
      const match = /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim(@sha256:[0-9a-f]{64})?$/.exec(stage.from);
      expect(match, `${stage.name ?? 'final stage'} FROM ${stage.from}`).not.toBeNull();
      expect(match?.[1]).toBe('24');
    }
    expect(new Set(externalStages.map((stage) => stage.from)).size).toBe(1);
  });

  it('runs as a numeric non-root user and group', () => {
    const match = /^(\d+):(\d+)$/.exec(image.user ?? '');
    expect(match, `USER ${image.user}`).not.toBeNull();
    expect(Number(match?.[1])).toBeGreaterThan(0);
    expect(Number(match?.[2])).toBeGreaterThan(0);
  });

  it('starts `rotator worker` with the mounted configuration, under tini', () => {
    expect(image.entrypoint?.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(image.entrypoint?.slice(2)).toEqual(['node', `${image.workdir}/dist/cli/main.js`]);
    expect(image.cmd).toEqual(['worker', '--config', '/etc/rotator/rotator.yaml']);
    expect(image.workdir).toBe('/app');
    expect(image.env).toMatchObject({ NODE_ENV: 'production', HOME: '/tmp' });
    expect(image.expose).toContain('8080');
  });

  it('carries the OCI labels', () => {
    for (const key of ['title', 'description', 'source', 'licenses'])
      expect(Object.keys(image.labels)).toContain(`org.opencontainers.image.${key}`);
    expect(image.labels['org.opencontainers.image.title']).toBe('rotator');
  });

  it('puts the compiled program, production dependencies, package.json and a static tini in the image', () => {
    const targets = image.copies.flatMap((copy) =>
      copy.sources.map((source) => ({ from: copy.from, source, target: copyTarget(copy, source, false) })),
    );
    expect(targets).toEqual(
      expect.arrayContaining([
        { from: 'tini', source: '/usr/bin/tini-static', target: '/usr/bin/tini' },
        { from: 'prod-deps', source: '/src/node_modules', target: '/app/node_modules' },
        { from: 'build', source: '/src/dist', target: '/app/dist' },
        { from: undefined, source: 'package.json', target: '/app/package.json' },
      ]),
    );
    expect(targets).toHaveLength(4);
    expect(stageNamed(dockerfile, 'prod-deps').runs.some((run) => /\bnpm ci\b.*--omit=dev/.test(run))).toBe(
      true,
    );
    expect(stageNamed(dockerfile, 'tini').runs.join('\n')).toMatch(
      /apt-get install -y --no-install-recommends tini\b/,
    );
  });

  it('copies no source, test or dev tooling into the final stage', () => {
    const forbidden =
      /^(src|test|\.ci|\.git|coverage|examples)(\/|$)|^(tsconfig.*\.json|eslint\.config\.js|vitest\.config\.ts|\.npmrc)$/;
    for (const copy of image.copies) {
      for (const source of copy.sources) {
        const relative = posix.relative('/src', posix.resolve('/src', source));
        expect(forbidden.test(relative), `final stage copies ${source}`).toBe(false);
      }
    }
    // The node_modules comes from the stage that installs without dev dependencies, not from the build stage.
    const fromBuild = image.copies.filter((copy) => copy.from === 'build');
    expect(fromBuild.flatMap((copy) => copy.sources)).toEqual(['/src/dist']);
  });

  it('builds with npm ci and the repository .npmrc (ignore-scripts), then npm run build', () => {
    const build = stageNamed(dockerfile, 'build');
    expect(contextSources(build)).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', '.npmrc', 'tsconfig*.json', 'src']),
    );
    expect(build.runs.some((run) => /\bnpm ci\b/.test(run) && !run.includes('--omit'))).toBe(true);
    expect(build.runs).toContain('npm run build');
  });
});

describe('.dockerignore', () => {
  it('leaves out installed modules, version control, tests and secrets', () => {
    for (const path of [
      'node_modules',
      'node_modules/bullmq/package.json',
      'dist/cli/main.js',
      '.git',
      '.git/HEAD',
      'test/unit/dockerfile.test.ts',
      'examples/secrets',
      'examples/secrets/fabrikam-client-secret',
      '.env',
      '.env.local',
      'coverage',
      '.tmp',
      'helm',
      'docs',
      'npm-debug.log',
    ])
      expect(isIgnored(ignore, path), path).toBe(true);
  });

  it('keeps everything the Dockerfile copies from the build context', () => {
    const needed = dockerfile.stages
      .flatMap(contextSources)
      .flatMap((pattern) => globSync(pattern, { cwd: REPO }));
    expect(needed).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', '.npmrc', 'src']));
    expect(needed).toContain('tsconfig.build.json');
    for (const path of [...needed, 'src/cli/main.ts', 'src/worker/worker-app.ts'])
      expect(isIgnored(ignore, path), path).toBe(false);
  });
});

/** What a stage copies from the build context (not from another stage). */
function contextSources(stage: Stage): string[] {
  return stage.copies.filter((copy) => copy.from === undefined).flatMap((copy) => copy.sources);
}
