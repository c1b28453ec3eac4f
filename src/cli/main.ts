#!/usr/bin/env node
// kubectl-gatehouse: the kubectl plugin's entry (kubectl finds it on PATH as `kubectl gatehouse`).
// The composition root of the CLI: the only place it touches the real process.
import { readFileSync } from 'node:fs';
import { run } from './run.js';
import { createKubeClient } from './kube.js';

const code = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  now: () => Date.now(),
  readFile: (file) => readFileSync(file, 'utf8'),
  makeClient: createKubeClient,
});
process.exitCode = code;
