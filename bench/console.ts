// bench:console - first render of the console's Users page in headless Chromium with many users.
// The console server is the real one (local mode, guard, JSON API, views); its client is the
// in-memory GatehouseClient of the CLI's unit tests, seeded from bench/world.ts, so the figure is
// the console and the browser, not the API server's list time (measured separately by bench:e2e).
//   npm run bench:console [-- --users 10000 --runs 7]
import { parseArgs } from 'node:util';
import { loadavg, cpus } from 'node:os';
import { generateWorld } from './world.js';
import { FakeClient } from '../test/support/fake-client.js';
import { launchBrowser } from '../test/support/browser.js';
import { startConsoleServer } from '../src/console/server.js';
import { parseConfig } from '../src/config.js';

const { values } = parseArgs({ options: { users: { type: 'string', default: '1000,10000' }, runs: { type: 'string', default: '7' } } });
const sizes = String(values.users).split(',').map(Number);
const runs = Number(values.runs);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const rows: string[][] = [];
for (const users of sizes) {
  const world = generateWorld({ users, teams: Math.max(1, users / 20), roles: 50, bindings: users, namespaces: Math.max(1, users / 10) });
  const client = new FakeClient({ namespaces: world.namespaces as never, whoAmI: { user: 'admin', groups: [] } });
  client.seed('User', ...world.users);
  client.seed('Team', ...world.teams);
  client.seed('Role', ...world.roles);
  client.seed('RoleBinding', ...world.bindings);
  const server = await startConsoleServer({ mode: 'local', host: '127.0.0.1', port: 0, clientFor: () => client, policy: { config: parseConfig({}), source: 'bench' }, now: Date.now });
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    const base = new URL(server.url).origin;
    const firstRender: number[] = [];
    const apiMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      // First render: navigation start to the first page of rows in the DOM, as the browser timed it.
      await page.goto(`${base}/users?run=${i}`);
      await page.waitForSelector('#users tbody tr[data-user]');
      firstRender.push(Number(await page.locator('#main').getAttribute('data-rendered-at')));
      apiMs.push(await page.evaluate(() => {
        const e = performance.getEntriesByType('resource').find((r) => r.name.includes('/api/users?'));
        return e ? e.duration : NaN;
      }));
    }
    const shown = await page.locator('#users tbody tr[data-user]').count();
    const range = (await page.locator('[data-testid=range]').first().textContent()) ?? '';
    rows.push([String(users), String(shown), range.trim(), median(apiMs).toFixed(0), median(firstRender).toFixed(0), Math.max(...firstRender).toFixed(0)]);
  } finally {
    await browser.close();
    await server.close();
  }
}

const header = ['users', 'rows shown', 'pager', '/api/users ms (median)', 'first render ms (median)', 'first render ms (max)'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log(`\n${runs} runs per size; ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (a shared machine: other work runs too).`);
