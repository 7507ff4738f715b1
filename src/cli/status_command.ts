import type { Command } from 'commander';
import { fetchStatus } from '../net/status_client.js';
import { readServerKit } from '../pki/kit_config.js';
import { formatTable } from '../report/table.js';

/** `harmofl status`: the coordinator's sites, round and last metrics. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('ask a running coordinator which sites are connected, its round and its last metrics')
    .requiredOption('--kit <dir>', "the server's kit")
    .option('--server <host:port>', "the coordinator's address (default: the kit's)")
    .option('--insecure', 'the coordinator runs in plain text')
    .action(async (o: { kit: string; server?: string; insecure?: boolean }) => {
      const kit = await readServerKit(o.kit);
      const host = kit.config.hosts[0]!;
      const s = await fetchStatus(kit, o.server ?? `${host.includes(':') ? `[${host}]` : host}:${kit.config.port}`, o.insecure === true);
      const rounds = s.rounds > 0 ? `round ${s.round + 1}/${s.rounds}` : 'no round yet';
      process.stdout.write(`federation ${s.federation}, run ${s.runId}: ${s.phase}, ${rounds}\n`);
      process.stdout.write(
        `${formatTable(
          ['site', 'connected', 'refused messages'],
          s.sites.map((x) => [x.site, x.connected ? 'yes' : 'no', String(x.rejected)]),
        )}\n`,
      );
      if (s.lastMetrics !== '') {
        const m = JSON.parse(s.lastMetrics) as { round: number; meanVal: number; meanTest: number };
        process.stdout.write(
          `last round ${m.round + 1}: mean val ${(m.meanVal * 100).toFixed(2)}%, mean test ${(m.meanTest * 100).toFixed(2)}%\n`,
        );
      }
    });
}
