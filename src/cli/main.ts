#!/usr/bin/env node
// kubectl-gatehouse: the kubectl plugin's entry (kubectl finds it on PATH as `kubectl gatehouse`).
// The composition root of the CLI: the only place it touches the real process.
import { readFileSync, writeFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postToken } from './login.js';
import { run } from './run.js';
import { createKubeClient } from '../client/kube.js';

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
  writeFile: (file, text) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text, { mode: 0o600 });
  },
  defaultKubeconfig: () => (process.env['KUBECONFIG'] ?? '').split(path.delimiter).find(Boolean) ?? path.join(os.homedir(), '.kube', 'config'),
  postToken,
});
process.exitCode = code;
