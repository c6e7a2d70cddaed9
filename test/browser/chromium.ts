// Runs test/browser/page.html in headless Chromium (Debian's /usr/bin/chromium) and returns the JSON
// the page POSTs back. Chromium runs in its own process group with a throw-away HOME, profile and
// XDG_RUNTIME_DIR under one temp dir, and is killed (SIGKILL to the group, then any straggler whose
// command line names that temp dir, e.g. crashpad handlers, which start their own sessions) on
// every path: result, page error, early exit, timeout, and exit or SIGINT/SIGTERM of this process.
//
// Manual run (after npm run build): node dist/test/browser/chromium.js [seed]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Flags: headless without sandbox (root, containers), nothing that talks to the network or waits for
 *  a first-run UI, and WebGPU on Linux (--enable-unsafe-webgpu is the one needed for an adapter). */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless', '--no-sandbox', '--no-first-run', '--no-default-browser-check',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--mute-audio', '--disable-dev-shm-usage',
  '--enable-unsafe-webgpu',
];

/** The repository root, from dist/test/browser/ (compiled) or test/browser/ (source). */
export const REPO_ROOT = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.split(/[\\/]/).includes('dist') ? resolve(here, '../../..') : resolve(here, '../..');
})();

export interface PageRun {
  /** What the page posted (see page.ts PageResult), or undefined when none came. */
  result: unknown;
  /** Why no result came (timeout, Chromium exited, could not start). */
  failure?: string;
  /** Chromium's stderr, the last lines without D-Bus noise. */
  stderrTail: string;
  /** Requests the server saw. */
  serverLog: string[];
  ms: number;
}

/** Kills every process whose command line contains `marker` (Chromium's temp dir), by PID. */
function killStragglers(marker: string): void {
  let pids: string[];
  try { pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)); } catch { return; }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let cmd: string;
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    if (cmd.includes(marker)) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
  }
}

export async function runPageInChromium(opts: { seed: number; timeoutMs: number; chromium?: string; extraFlags?: string[] }): Promise<PageRun> {
  const t0 = Date.now();
  const server = await startServer(REPO_ROOT);
  const tmp = mkdtempSync(join(tmpdir(), 'llava-st-chromium-'));
  const home = join(tmp, 'home');
  const xdg = join(tmp, 'xdg');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(xdg, { mode: 0o700 });
  const url = `${server.origin}/test/browser/page.html?seed=${opts.seed}`;
  const args = [...CHROMIUM_FLAGS, ...(opts.extraFlags ?? []), `--user-data-dir=${join(tmp, 'profile')}`, url];

  let stderr = '';
  const child = spawn(opts.chromium ?? CHROMIUM, args, {
    detached: true, // own process group: one kill reaches the browser, GPU, renderer and zygote processes
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: home, XDG_RUNTIME_DIR: xdg, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') },
  });
  const collect = (d: Buffer): void => { stderr = (stderr + d.toString('utf8')).slice(-200_000); };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<string>((ok) => {
    child.once('exit', (code, signal) => ok(`Chromium exited (code ${code}, signal ${signal})`));
    child.once('error', (e) => ok(`Chromium could not be started: ${e.message}`));
  });

  const killAll = (): void => {
    // The whole group, even if the leader already exited (its children keep the group id alive).
    if (child.pid !== undefined) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ } }
    killStragglers(tmp);
  };
  const onExit = (): void => killAll();
  const onSignal = (sig: NodeJS.Signals): void => {
    killAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, sig);
  };
  process.once('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((ok) => { timer = setTimeout(() => ok(`no result from the page within ${opts.timeoutMs} ms`), opts.timeoutMs); });
  let run: PageRun;
  try {
    const first = await Promise.race([
      server.result.then((r) => ({ result: r })),
      exited.then((why) => ({ failure: `${why} before the page posted a result` })),
      timeout.then((why) => ({ failure: why })),
    ]);
    run = { result: 'result' in first ? first.result : undefined, stderrTail: '', serverLog: server.log, ms: 0 };
    if ('failure' in first) run.failure = first.failure;
  } finally {
    clearTimeout(timer);
    killAll();
    // Wait (briefly) for the group leader to be reaped, so nothing writes into tmp while it is removed.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((ok) => { grace = setTimeout(ok, 5000); })]);
    clearTimeout(grace);
    killStragglers(tmp);
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server.close();
    try { rmSync(tmp, { recursive: true, force: true, maxRetries: 3 }); } catch { /* best effort */ }
  }
  run.stderrTail = stderr.split('\n').filter((l) => l.trim() && !/dbus|D-Bus/i.test(l)).slice(-25).join('\n');
  run.ms = Date.now() - t0;
  return run;
}

// Manual run: prints the page's result.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const seed = Number(process.argv[2] ?? Math.floor(Math.random() * 1e9));
  const run = await runPageInChromium({ seed, timeoutMs: 45_000 });
  console.log(JSON.stringify({ seed, ...run }, (k, v: unknown) => (k === 'got' && Array.isArray(v) ? `[${v.length} values]` : v), 2));
}
