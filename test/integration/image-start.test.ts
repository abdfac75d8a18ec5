import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { sleep } from '../../src/util/sleep.ts';
import { freePort } from '../support/redis-server.ts';
import { copyTarget, finalStage, parseDockerfile, type Copy } from '../support/dockerfile.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { startEstate, waitFor, type Estate } from '../support/worker-estate.ts';
import { hasMsg, waitUntilReady, type LogLine } from '../support/worker-process.ts';

/**
 * "The image's start command, run directly on this machine with the same arguments and a read-only working
 * copy, starts the worker." No container engine here, so the test lays out what the Dockerfile's final stage
 * puts in the image under a temporary root, makes it read-only, and runs the final stage's ENTRYPOINT + CMD
 * with its ENV, WORKDIR and USER, every image path rewritten into that root:
 *
 *   /usr/bin/tini                → <root>/usr/bin/tini            (tini-static from the host, when installed)
 *   node (found on PATH)         → <root>/usr/local/bin/node      (this process's node, Node 24)
 *   /app/dist                    → <root>/app/dist                (tsc -p tsconfig.build.json, as npm run build)
 *   /app/node_modules            → <root>/app/node_modules        (the lockfile's production packages, linked)
 *   /app/package.json            → <root>/app/package.json
 *   /etc/rotator/rotator.yaml    → <root>/etc/rotator/rotator.yaml (the worker-estate configuration)
 *   /var/run/secrets/rotator/…   → <root>/var/run/secrets/rotator/… (its secrets, as files)
 *   /tmp (HOME, TMPDIR)          → <base>/tmp, writable           (the emptyDir the Helm chart mounts)
 *
 * As root (CI), the process runs as the Dockerfile's numeric USER: root ignores file modes, so only then is
 * the read-only copy really read-only to the worker, as in the image. CI installs tini (.ci/run); without it
 * the test runs the same command minus its `tini --` prefix and says so.
 */

const REPO = join(import.meta.dirname, '../..');
const image = finalStage(parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8')));

/** What the base image (node:24-bookworm-slim) provides that the Dockerfile does not say. */
const BASE_IMAGE = {
  node: '/usr/local/bin/node',
  path: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
};
/** The one writable place at run time (read-only root filesystem, emptyDir on /tmp). */
const WRITABLE = '/tmp';
/** Where the Helm chart mounts the credentials (rotator.secretsDir). */
const SECRETS_DIR = '/var/run/secrets/rotator';
/** Where the test mounts the simulators' self-signed CA, as a pod would mount a ConfigMap. */
const CA_FILE = '/etc/rotator-test/simulators-ca.pem';
const SHUTDOWN_TIMEOUT_MS = 10_000;
const TINI = hostTini();
const IS_ROOT = process.getuid?.() === 0;
const HAS_PROC = existsSync('/proc/self/stat');

const execFileAsync = promisify(execFile);

interface ImageRoot {
  /** Holds root/ and tmp/; removed at the end. */
  readonly base: string;
  readonly root: string;
  readonly tmp: string;
  /** An image path on this machine. */
  map(imagePath: string): string;
}

let estate: Estate;
let imageRoot: ImageRoot | undefined;
/** The worker's health server, as configured. */
let healthUrl: string;
/** Every process the tests started (tini or node), and node under tini: killed if still there at the end. */
const processes: StartedProcess[] = [];
let nodePid: number | undefined;

beforeAll(async () => {
  estate = await startEstate({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    redisUrl: inject('redisUrl'),
    connectorsOf: [1],
    propagationDelayMs: 0,
    label: 'image',
  });
  imageRoot = await createImageRoot();
  await populate(imageRoot);
}, 60_000);

afterAll(async () => {
  for (const started of processes) started.child.kill('SIGKILL');
  // SIGKILL to tini would orphan node: end it too.
  if (nodePid !== undefined && processRuns(nodePid)) process.kill(nodePid, 'SIGKILL');
  if (imageRoot) {
    // Write permission back first, or a non-root user could not remove the read-only tree.
    await execFileAsync('chmod', ['-R', 'u+w', imageRoot.root]);
    await rm(imageRoot.base, { recursive: true, force: true });
  }
  await estate.close();
});

describe('the image start command', () => {
  const how = TINI ? 'under tini' : '(tini not installed: without it)';

  it(`starts the worker from a read-only copy ${how}, and stops it on SIGTERM`, async () => {
    if (!TINI)
      console.warn(
        'image-start: tini is not on PATH; running the start command without `tini --` (CI installs tini)',
      );
    const root = imageRoot!;
    const before = listing(root.root);
    const running = spawnImage(root, startCommand(root, image.cmd ?? []));

    await untilExit(running, waitUntilReady(healthUrl, 30_000));
    await untilExit(
      running,
      waitFor('the worker start line', () => running.logs.find(hasMsg('worker started')), 5_000),
    );
    nodePid = TINI ? await untilExit(running, nodeUnder(running.child.pid!)) : running.child.pid!;
    expectImageProcess(root, nodePid);

    await expectCleanStop(running, nodePid);
    expect(listing(root.root), 'nothing changed in the read-only root').toEqual(before);
    expectNoSecrets({ stdout: running.stdout, stderr: running.stderr }, estate.knownSecrets());
  }, 60_000);

  it(`answers --version from the image's package.json ${how}`, async () => {
    // `docker run IMAGE --version` replaces the CMD and keeps the ENTRYPOINT.
    const running = spawnImage(imageRoot!, startCommand(imageRoot!, ['--version']));
    const exit = await Promise.race([running.exited, sleep(10_000).then(() => 'no exit in 10 s')]);
    expect(exit, running.tail()).toEqual({ code: 0, signal: null });
    const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(running.stdout).toEqual([version]);
  });
});

/** node is the base image's, found on the image PATH, and (as root) runs as the image's USER. */
function expectImageProcess(root: ImageRoot, pid: number): void {
  if (!HAS_PROC) return;
  expect(readlinkSync(`/proc/${pid}/exe`), 'node comes from the image PATH').toBe(root.map(BASE_IMAGE.node));
  if (IS_ROOT) expect(procUids(pid), 'node runs as the image USER').toEqual(imageUser());
}

/**
 * SIGTERM to the started process (tini, which must forward it to node): node logs the signal, stops
 * cleanly within the shutdown timeout and exits 0, and so does tini; node is gone.
 */
async function expectCleanStop(running: StartedProcess, pid: number): Promise<void> {
  const stopAt = performance.now();
  running.child.kill('SIGTERM');
  const exit = await Promise.race([running.exited, sleep(SHUTDOWN_TIMEOUT_MS).then(() => 'no exit in time')]);
  expect(exit, `exit within ${SHUTDOWN_TIMEOUT_MS} ms of SIGTERM\n${running.tail()}`).toEqual({
    code: 0,
    signal: null,
  });
  expect(performance.now() - stopAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  expect(running.logs.find(hasMsg('signal received: shutting down'))).toMatchObject({ signal: 'SIGTERM' });
  expect(running.logs.find(hasMsg('stopped'))).toMatchObject({ forced: false });
  expect(processRuns(pid), 'node is gone').toBe(false);
}

// --- the image root ------------------------------------------------------------------------------------------

async function createImageRoot(): Promise<ImageRoot> {
  const base = await mkdtemp(join(tmpdir(), 'rotator-image-root-'));
  const root = join(base, 'root');
  const tmp = join(base, 'tmp');
  await mkdir(root);
  await mkdir(tmp);
  // mkdtemp makes 0700: the image's user must reach in. The writable tmp is sticky and world-writable, as /tmp.
  await chmod(base, 0o755);
  await chmod(root, 0o755);
  await chmod(tmp, 0o1777);
  const map = (imagePath: string) => {
    if (!posix.isAbsolute(imagePath)) throw new Error(`not an image path: ${imagePath}`);
    const inTmp = posix.relative(WRITABLE, imagePath);
    return inTmp.startsWith('..') ? join(root, imagePath) : join(tmp, inTmp);
  };
  return { base, root, tmp, map };
}

/** Fills the root with what the final stage copies, node, the configuration; then makes it read-only. */
async function populate(root: ImageRoot): Promise<void> {
  for (const copy of image.copies) for (const source of copy.sources) await provide(root, copy, source);
  await install(process.execPath, root.map(BASE_IMAGE.node), 0o755);
  await writeImageFile(root, CA_FILE, inject('tlsCert'));
  const port = await freePort();
  healthUrl = `http://127.0.0.1:${port}`;
  const { file } = estate.writeConfig({
    http: { host: '127.0.0.1', port },
    // No sweep during the test: it checks the start and the stop, not a rotation.
    rotation: { schedule: '0 0 1 1 *' },
    worker: { shutdownTimeout: `${SHUTDOWN_TIMEOUT_MS / 1000}s` },
  });
  const config = parse(await readFile(file, 'utf8')) as EstateConfig;
  // The estate's copy holds the secrets inline and is not needed any more.
  await rm(file);
  await mountSecrets(root, config);
  await writeImageFile(root, configPath(), stringify(config));
  // Readable by everyone (the image's files are root's, readable by its user), writable by no one.
  await execFileAsync('chmod', ['-R', 'a+rX,a-w', root.root]);
}

/** The parts of the worker-estate configuration that hold secrets. */
interface EstateConfig {
  qualys: { password?: unknown; passwordFile?: string };
  azure: { tenants: { auth: { clientSecret?: unknown; clientSecretFile?: string } }[] };
}

/**
 * Moves the estate's inline secrets into files under the secrets folder, as the Helm chart mounts them, so
 * that the worker reads them as the image's user. The configuration holds their paths on this machine: the
 * process reads it here, not in a container.
 */
async function mountSecrets(root: ImageRoot, config: EstateConfig): Promise<void> {
  const mount = async (name: string, value: unknown) => {
    if (typeof value !== 'string') throw new Error(`the estate configuration has no inline ${name}`);
    const imagePath = posix.join(SECRETS_DIR, name);
    await writeImageFile(root, imagePath, `${value}\n`);
    return root.map(imagePath);
  };
  config.qualys.passwordFile = await mount('qualys-password', config.qualys.password);
  delete config.qualys.password;
  for (const [index, { auth }] of config.azure.tenants.entries()) {
    auth.clientSecretFile = await mount(`tenant-${index}-client-secret`, auth.clientSecret);
    delete auth.clientSecret;
  }
}

/** Puts one COPY source of the final stage where the image has it, made the way its stage makes it. */
async function provide(root: ImageRoot, copy: Copy, source: string): Promise<void> {
  const name = posix.basename(source);
  if (name === 'dist') return compile(root.map(copyTarget(copy, source, true)));
  if (name === 'node_modules') return provideProductionModules(root.map(copyTarget(copy, source, true)));
  if (name === 'package.json' && copy.from === undefined)
    return install(join(REPO, 'package.json'), root.map(copyTarget(copy, source, false)), 0o644);
  if (name === 'tini-static') {
    if (TINI) await install(TINI, root.map(copyTarget(copy, source, false)), 0o755);
    return;
  }
  throw new Error(
    `the test does not know how to provide ${copy.from ?? 'context'}:${source}: teach provide()`,
  );
}

/** `npm run build` (tsc -p tsconfig.build.json) into `outDir`; typechecking is `npm run typecheck`'s job. */
async function compile(outDir: string): Promise<void> {
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
  await execFileAsync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noCheck', '--outDir', outDir], {
    cwd: REPO,
  });
}

/**
 * What `npm ci --omit=dev` installs, taken from the checkout's node_modules: the lockfile's top-level packages
 * not marked dev that are installed here (optional ones for other platforms are not). Only those are in the
 * root's node_modules, so the worker cannot import a dev dependency. They are linked one by one when the
 * image's user can read the checkout: copying 120 MB of small files takes ten seconds on a slow disk, and
 * the user cannot write the root-owned checkout anyway (a developer running the test without root can). A
 * package's own imports resolve from the checkout, where Node's loader follows the link.
 */
async function provideProductionModules(target: string): Promise<void> {
  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  const isTopLevel = (key: string) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key);
  const installed = Object.entries(lock.packages).filter(
    ([key, entry]) => key !== '' && entry.link !== true && existsSync(join(REPO, key)),
  );
  const production = installed.filter(([key, entry]) => entry.dev !== true && isTopLevel(key));
  const destination = (key: string) => join(target, relative('node_modules', key));
  if (!IS_ROOT || searchableByOthers(join(REPO, 'node_modules'))) {
    for (const [key] of production) {
      await mkdir(dirname(destination(key)), { recursive: true });
      await symlink(join(REPO, key), destination(key), 'dir');
    }
    return;
  }
  // The checkout is private to root (under /root, say): copy, one `cp -R` per folder (the top or a @scope).
  const groups = Map.groupBy(production, ([key]) => dirname(destination(key)));
  for (const [folder, entries] of groups) {
    await mkdir(folder, { recursive: true });
    await execFileAsync('cp', ['-R', ...entries.map(([key]) => join(REPO, key)), folder]);
  }
  // The copies brought along nested packages that --omit=dev leaves out.
  for (const [key, entry] of installed)
    if (entry.dev === true && !isTopLevel(key)) await rm(destination(key), { recursive: true, force: true });
}

/** Whether any user may list `dir` and pass through every folder above it. */
function searchableByOthers(dir: string): boolean {
  if ((statSync(dir).mode & 0o005) !== 0o005) return false;
  for (let parent = dirname(dir); ; parent = dirname(parent)) {
    if ((statSync(parent).mode & 0o001) === 0) return false;
    if (dirname(parent) === parent) return true;
  }
}

async function install(from: string, to: string, mode: number): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
  await chmod(to, mode);
}

async function writeImageFile(root: ImageRoot, imagePath: string, text: string): Promise<void> {
  const path = root.map(imagePath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/** The file that the CMD's --config names. */
function configPath(): string {
  const args = image.cmd ?? [];
  const value = args[args.indexOf('--config') + 1];
  if (!args.includes('--config') || value === undefined) throw new Error('the CMD names no --config file');
  return value;
}

/** Every path under `dir` with its mode, size and modification time; symbolic links are not followed. */
function listing(dir: string): string[] {
  const entries: string[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(path);
    entries.push(`${relative(dir, path)} ${stat.mode.toString(8)} ${stat.size} ${stat.mtimeMs}`);
    if (stat.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  walk(dir);
  return entries;
}

// --- the start command ---------------------------------------------------------------------------------------

/**
 * ENTRYPOINT + `cmd` with image paths mapped. Without tini, its `tini --` prefix is dropped and the program
 * after it looked up on the image PATH, as tini would.
 */
function startCommand(root: ImageRoot, cmd: readonly string[]): { command: string; args: string[] } {
  const argv = [...(image.entrypoint ?? []), ...cmd].map((arg) =>
    posix.isAbsolute(arg) ? root.map(arg) : arg,
  );
  const [tini, separator, ...rest] = argv;
  if (TINI) return { command: tini!, args: [separator!, ...rest] };
  expect([tini, separator]).toEqual([root.map('/usr/bin/tini'), '--']);
  const [program, ...args] = rest;
  const found = onPath(program!, imageEnv(root).PATH!);
  if (found === undefined) throw new Error(`${program} is not on the image PATH`);
  return { command: found, args };
}

/** The final stage's ENV (and the base image's PATH) mapped, the CA to trust, and nothing else. */
function imageEnv(root: ImageRoot): Record<string, string> {
  const mapValue = (value: string) => {
    const parts = value.split(':');
    return parts.every((part) => posix.isAbsolute(part)) ? parts.map(root.map).join(delimiter) : value;
  };
  const env: Record<string, string> = { PATH: mapValue(BASE_IMAGE.path) };
  for (const [key, value] of Object.entries(image.env)) env[key] = mapValue(value);
  return {
    ...env,
    // os.tmpdir() in the image is /tmp; here it must be the writable stand-in, not this machine's /tmp.
    TMPDIR: root.map(WRITABLE),
    NODE_EXTRA_CA_CERTS: root.map(CA_FILE),
  };
}

interface StartedProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly logs: LogLine[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  tail(): string;
}

/** Runs a start command the way the image would: its WORKDIR, ENV and (as root) USER. */
function spawnImage(root: ImageRoot, { command, args }: { command: string; args: string[] }): StartedProcess {
  const [uid, gid] = imageUser();
  const child = spawn(command, args, {
    cwd: root.map(image.workdir),
    env: imageEnv(root),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(IS_ROOT ? { uid, gid } : {}),
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const logs: LogLine[] = [];
  collectLines(child.stdout, (line) => {
    stdout.push(line);
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      // Not a log line: kept in stdout for the messages.
    }
  });
  collectLines(child.stderr, (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const tail = () => [...stdout.slice(-20), ...stderr.slice(-20).map((line) => `stderr: ${line}`)].join('\n');
  const started = { child, stdout, stderr, logs, exited, tail };
  processes.push(started);
  return started;
}

function collectLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line !== '') onLine(line);
  });
}

/** `promise`, or a failure with the output when the process exits first. */
async function untilExit<T>(running: StartedProcess, promise: Promise<T>): Promise<T> {
  const early = running.exited.then((exit) => {
    throw new Error(
      `the process exited (${exit.code ?? exit.signal}) before it was ready\n${running.tail()}`,
    );
  });
  return Promise.race([promise, early]);
}

/** The USER's numbers: [uid, gid]. */
function imageUser(): [number, number] {
  const match = /^(\d+):(\d+)$/.exec(image.user ?? '');
  if (match === null) throw new Error(`USER ${image.user} is not uid:gid`);
  return [Number(match[1]), Number(match[2])];
}

// --- processes -----------------------------------------------------------------------------------------------

/** tini (or tini-static) on this machine's PATH: CI installs Debian's package, which has both. */
function hostTini(): string | undefined {
  const tini = onPath('tini', process.env.PATH ?? '');
  if (tini === undefined) return undefined;
  const staticBuild = join(dirname(tini), 'tini-static');
  return existsSync(staticBuild) ? staticBuild : tini;
}

function onPath(program: string, path: string): string | undefined {
  for (const dir of path.split(delimiter).filter((entry) => entry !== '')) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: the next directory.
    }
  }
  return undefined;
}

/** The pid of tini's child (node), from /proc. */
async function nodeUnder(tiniPid: number): Promise<number> {
  return waitFor(
    'the node process under tini',
    () =>
      readdirSync('/proc')
        .filter((entry) => /^\d+$/.test(entry))
        .map(Number)
        .find((pid) => parentOf(pid) === tiniPid),
    5_000,
  );
}

function parentOf(pid: number): number | undefined {
  try {
    // The command name (field 2) may hold spaces and parentheses: the fields after the last ')' are safe.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Real uid and gid of a process. */
function procUids(pid: number): [number, number] {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return [field('Uid'), field('Gid')];
}

/** Alive and not a zombie. */
function processRuns(pid: number): boolean {
  if (HAS_PROC) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
