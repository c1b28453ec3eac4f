// Runs the built kubectl-gatehouse as a person would: a subprocess with a kubeconfig.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtemp, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import { runCommand, type KubectlResult } from '../../src/controlplane/controlplane.js';
import { controlPlaneEnv } from '../../src/config.js';

/** dist/src/cli/main.js, found from this file's place in dist/test/support. */
export const CLI_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface CliRun {
  kubeconfig: string;
  input?: string;
}

/** `kubectl-gatehouse ARGS` with KUBECONFIG set to `kubeconfig`; never throws. */
export function runCli(args: string[], opts: CliRun): Promise<KubectlResult> {
  return runCommand(process.execPath, [CLI_PATH, ...args], {
    input: opts.input,
    timeoutMs: 60_000,
    env: { ...process.env, KUBECONFIG: opts.kubeconfig, NO_COLOR: '1' },
  });
}

/**
 * A folder holding a `kubectl-gatehouse` wrapper, to put on PATH so that `kubectl gatehouse ...`
 * finds the plugin the way an installed package's bin would be found.
 */
export async function pluginDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-plugin-'));
  const wrapper = path.join(dir, 'kubectl-gatehouse');
  await writeFile(wrapper, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_PATH)} "$@"\n`);
  await chmod(wrapper, 0o755);
  return dir;
}

/** `kubectl gatehouse ARGS` through kubectl's plugin mechanism. */
export function runKubectlPlugin(args: string[], opts: CliRun & { pluginDir: string }): Promise<KubectlResult> {
  return runCommand(controlPlaneEnv().kubectl, ['gatehouse', ...args], {
    input: opts.input,
    timeoutMs: 60_000,
    env: { ...process.env, KUBECONFIG: opts.kubeconfig, PATH: `${opts.pluginDir}${path.delimiter}${process.env['PATH'] ?? ''}` },
  });
}
