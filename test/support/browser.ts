// Headless Chromium from Debian's `chromium` package (scripts/setup.sh installs it), driven by
// playwright-core; Playwright never downloads a browser here. Each launch gets a fresh profile.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CLI_PATH } from './cli.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A persistent context in a fresh user-data-dir (removed on close). */
export async function launchBrowser(opts: { extraHTTPHeaders?: Record<string, string>; width?: number; height?: number } = {}): Promise<Browser> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    ...(opts.extraHTTPHeaders ? { extraHTTPHeaders: opts.extraHTTPHeaders } : {}),
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `kubectl-gatehouse console --no-open --as USER` with the given kubeconfig, as a person starts the
 * console; resolves with the URL it prints (token included). The child goes into `children` so the
 * test's after() stops it.
 */
export function startCliConsole(kubeconfigPath: string, as: string, children: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, [CLI_PATH, 'console', '--no-open', '--as', as], {
    env: { ...process.env, KUBECONFIG: kubeconfigPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (c) => (stderr += String(c)));
  const lines = createInterface({ input: child.stdout! });
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`console did not print its URL: ${stderr}`)), 30_000);
    lines.on('line', (line) => {
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(line);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`console exited ${code}: ${stderr}`)));
  });
}
