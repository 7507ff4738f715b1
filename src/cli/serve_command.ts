import type { Command } from 'commander';
import { configsFor } from '../experiment/prepare.js';
import { STRATEGY_NAMES } from '../fl/strategies/index.js';
import { coordinate } from '../net/coordinate.js';
import { readServerKit } from '../pki/kit_config.js';
import { initCommandBackend, oneOf, parseBound, parsePositiveInt } from './options.js';
import { addTrainOptions, printEvents, runOptionsOf, type TrainOptions } from './train_options.js';

interface ServeOptions extends TrainOptions {
  kit: string;
  strategy: string;
  minClients?: number;
  startClients?: number;
  roundTimeout?: number;
  joinTimeout: number;
  rejoinWait: number;
  listen?: string;
  port?: number;
  resume?: boolean;
  insecure?: boolean;
}

/** Where the coordinator's data path lives in a run's saved config: at the sites, not here. */
const DATA_AT_SITES = '(at the sites)';

/** Prints the loud warning of plain-text mode. */
export function warnInsecure(who: string): void {
  const bar = '!'.repeat(72);
  process.stderr.write(
    `${bar}\n!! ${who} IN PLAIN TEXT (--insecure): NO ENCRYPTION, NO SITE IDENTITIES.\n!! Anyone on the network can read the models and pose as any site. Local experiments only.\n${bar}\n`,
  );
}

/** `harmofl serve`: the coordinator of a deployed federation. */
export function registerServe(program: Command): void {
  addTrainOptions(
    program.command('serve').description('coordinate a federation over the network: sites join with their kits, the round loop runs here'),
    'runs/serve',
    { data: false },
  )
    .requiredOption('--kit <dir>', "the server's kit (from harmofl provision)")
    .option('--strategy <name>', STRATEGY_NAMES.join(' | '), oneOf('--strategy', STRATEGY_NAMES), 'harmofl')
    .option('--min-clients <k>', 'sites needed to aggregate a round, and to start (default: every site of the kit)', (v: string) =>
      parsePositiveInt(v, '--min-clients'),
    )
    .option(
      '--start-clients <k>',
      "sites to wait for before the first round, when more than --min-clients (as Flower's min_available_clients)",
      (v: string) => parsePositiveInt(v, '--start-clients'),
    )
    .option(
      '--round-timeout <s>',
      'deadline of each round trip, seconds (default: wait for every site)',
      parseBound('--round-timeout', 'positive'),
    )
    .option(
      '--join-timeout <s>',
      'how long to wait for the sites needed at the start, seconds',
      parseBound('--join-timeout', 'positive'),
      600,
    )
    .option(
      '--rejoin-wait <s>',
      'how long a round waits at its start for sites that dropped out, seconds',
      parseBound('--rejoin-wait', 'zero'),
      0,
    )
    .option('--listen <host>', "address to listen on (default: the kit's first host)")
    .option('--port <n>', "port to listen on (default: the kit's; 0: any free one)", (v: string) => Number(v))
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--insecure', 'plain text, no TLS and no identities (local experiments only)')
    .action(async (o: ServeOptions) => {
      const kit = await readServerKit(o.kit);
      if (o.insecure === true) warnInsecure('COORDINATOR');
      const eligible = kit.config.sites.length - kit.config.revoked.length;
      for (const [flag, k] of [
        ['--min-clients', o.minClients],
        ['--start-clients', o.startClients],
      ] as const)
        if (k !== undefined && k > eligible)
          throw new Error(
            `${flag} ${k}, but the kit ${o.kit} admits only ${eligible} site(s); add sites with harmofl provision --add-site`,
          );
      const backend = await initCommandBackend(o);
      process.stderr.write(`backend: ${backend.name} (${backend.detail})\n`);
      const runOptions = { ...runOptionsOf({ ...o, data: DATA_AT_SITES }) };
      const log = (line: string): void => void process.stderr.write(`[coordinator] ${line}\n`);
      const summary = await coordinate({
        kit,
        out: o.out,
        host: o.listen ?? kit.config.hosts[0]!,
        port: o.port ?? kit.config.port,
        configFor: (shape) => configsFor(runOptions, shape)(o.strategy, o.out),
        data: { seed: runOptions.seed ?? 0, imbalance: runOptions.imbalance === true, resize: runOptions.imageSize ?? 0 },
        minClients: o.minClients ?? kit.config.sites.length - kit.config.revoked.length,
        ...(o.startClients !== undefined ? { startClients: o.startClients } : {}),
        ...(o.roundTimeout !== undefined ? { roundTimeoutMs: o.roundTimeout * 1000 } : {}),
        joinTimeoutMs: o.joinTimeout * 1000,
        rejoinWaitMs: o.rejoinWait * 1000,
        resume: o.resume === true,
        ...(o.insecure === true ? { insecure: true } : {}),
        log,
        onListening: (port) => process.stdout.write(`listening on ${o.listen ?? kit.config.hosts[0]}:${port}\n`),
        onEvent: (event, config) => {
          printEvents(event, config);
          if (event.type !== 'round') return;
          const r = event.report;
          const trained = Object.entries(r.sites)
            .filter(([, s]) => Number.isFinite(s.trainLoss))
            .map(([s]) => s);
          const failed = (kind: string): string =>
            (r.failures ?? [])
              .filter((f) => f.kind === kind)
              .map((f) => f.site)
              .join(', ') || '-';
          process.stdout.write(
            `round ${r.round + 1}: trained ${trained.join(', ') || '-'}; timed out ${failed('timeout')}; disconnected ${failed('disconnected')}; rejected ${failed('rejected')}; failed ${failed('error')}${r.skipped === true ? '; too few sites: global model kept' : ''}\n`,
          );
        },
      });
      process.stdout.write(
        `best round ${summary.bestRound + 1}: mean test ${summary.metric} ${(summary.meanTest * 100).toFixed(2)}% (${summary.wallSeconds.toFixed(1)} s); results in ${o.out}\n`,
      );
    });
}
