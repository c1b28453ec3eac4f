#!/usr/bin/env node
// kubectl-gatehouse: the kubectl plugin's entry (kubectl finds it on PATH as `kubectl gatehouse`).
// The composition root of the CLI: the only place it touches the real process.
import { readFileSync, writeFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postToken } from './login.js';
import { run } from './run.js';
import { createKubeClient, listKubeContexts } from '../client/kube.js';

const code = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  now: () => Date.now(),
  // `-` is stdin: `kustomize build | kubectl gatehouse lint -` (issue 25).
  readFile: (file) => readFileSync(file === '-' ? 0 : file, 'utf8'),
  listDir: (dir) => {
    try {
      return statSync(dir).isDirectory() ? readdirSync(dir) : undefined;
    } catch {
      return undefined;
    }
  },
  makeClient: createKubeClient,
  listContexts: listKubeContexts,
  writeFile: (file, text) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text, { mode: 0o600 });
  },
  defaultKubeconfig: () => (process.env['KUBECONFIG'] ?? '').split(path.delimiter).find(Boolean) ?? path.join(os.homedir(), '.kube', 'config'),
  postToken,
});
process.exitCode = code;
// A cluster that timed out in a fleet question (--cluster-timeout) may still hold a socket open;
// its answer is no longer wanted. Exit once the output is written instead of waiting for it
// (unref: when nothing is left open the process ends on its own, sooner). stdout and stderr are
// synchronous for files and pipes on Linux, so nothing printed is lost.
if (process.argv.some((a) => a === '--all-contexts' || a === '--contexts' || a.startsWith('--contexts='))) setTimeout(() => process.exit(code), 200).unref();
