import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { runSpecOfConfig } from '../fl/train_config.js';
import { connectFleet } from '../flower/fleet_client.js';
import { openFlowerSite } from '../flower/flower_site.js';
import { workerClientApp } from '../flower/worker_client_app.js';
import { exportInitialArrays } from '../flower/initial_arrays.js';
import { loadNodeKey } from '../flower/node_auth.js';
import { runSuperNode } from '../flower/supernode.js';
import { clientThreads, oneOf, parseBound } from './options.js';
import { addTrainOptions, prepareFromCli, withPool, type TrainOptions } from './train_options.js';

/** The strategies whose server side is Flower's FedAvg (HarmoFL's amplitude is one more averaged array). */
const FLOWER_STRATEGIES = ['harmofl', 'fedprox', 'fedavg'] as const;

interface JoinFlowerOptions extends TrainOptions {
  flower?: string;
  rootCertificates?: string;
  insecure?: boolean;
  authKey?: string;
  site?: string;
  strategy: string;
  state?: string;
  heartbeatInterval: number;
  exportInitial?: string;
}

const MB = 1024 * 1024;

/** `harmofl join-flower` (also `harmofl join --flower ...`): this site as a Flower 1.23 SuperNode. */
export function registerFlowerJoin(program: Command): void {
  addTrainOptions(
    program
      .command('join-flower')
      .description('take part in a Flower 1.23 federation as a SuperNode (TLS, node authentication); `harmofl join --flower` is the same'),
    'runs/flower',
  )
    .option('--flower <host:port>', "the SuperLink's Fleet API address")
    .option('--root-certificates <ca.pem>', "CA certificate that signed the SuperLink's certificate")
    .option('--insecure', 'plaintext gRPC (only for a SuperLink started with --insecure)')
    .option('--auth-key <file>', 'this node\'s private key (ssh-keygen -t ecdsa -b 384 -N "" -f site; register site.pub on the SuperLink)')
    .option('--site <name>', 'the site in --data to train (default: the only one)')
    .option('--strategy <name>', FLOWER_STRATEGIES.join(' | '), oneOf('--strategy', FLOWER_STRATEGIES), 'harmofl')
    .option('--state <dir>', "this site's own state between rounds (default: <out>/clients/<site>)")
    .option(
      '--heartbeat-interval <s>',
      'seconds between heartbeats (10-1800; a killed node counts as online for twice this)',
      parseBound('--heartbeat-interval', 'positive'),
      30,
    )
    .option('--export-initial <dir>', "write the run's initial model as a PyTorch state_dict of .npy files for the ServerApp, then exit")
    .action(async (o: JoinFlowerOptions) => {
      const prepared = await prepareFromCli(o);
      const config = prepared.configFor(o.strategy, o.out);
      const spec = runSpecOfConfig(config);
      if (o.exportInitial !== undefined) {
        const n = await exportInitialArrays(spec, config.seed, o.exportInitial);
        process.stdout.write(`wrote ${n} arrays of the initial ${spec.model.config.kind} to ${o.exportInitial}\n`);
        return;
      }
      const { flower: address, authKey, rootCertificates } = o;
      if (address === undefined || authKey === undefined) throw new Error('join-flower needs --flower HOST:PORT and --auth-key FILE');
      if (rootCertificates === undefined && o.insecure !== true)
        throw new Error('pass --root-certificates ca.pem (the SuperLink runs TLS), or --insecure for a plaintext SuperLink');
      const sites = prepared.fed.sites.map((s) => s.name);
      const site = o.site ?? (sites.length === 1 ? sites[0]! : undefined);
      if (site === undefined) throw new Error(`--data holds ${sites.length} sites (${sites.join(', ')}); pick this one with --site`);
      const key = loadNodeKey(readFileSync(authKey, 'utf8'), authKey);
      // One worker thread trains; the main thread keeps the Fleet connection and its heartbeats.
      await withPool({ workers: 1, backend: o.backend, threads: clientThreads(o) }, async (pool) => {
        const app = workerClientApp(pool, config.data, site);
        const flowerSite = await openFlowerSite({
          fed: prepared.fed,
          dataDir: o.data,
          site,
          app,
          spec,
          seed: config.seed,
          stateDir: o.state ?? path.join(o.out, 'clients', site),
        });
        const connection = connectFleet(
          {
            address,
            ...(o.insecure === true || rootCertificates === undefined ? {} : { rootCertificates: readFileSync(rootCertificates, 'utf8') }),
          },
          key,
        );
        const stop = new AbortController();
        const onSignal = (): void => {
          process.stderr.write('stopping: deactivating this node\n');
          stop.abort();
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const log = (line: string): void => void process.stderr.write(`[${new Date().toISOString()}] ${site}: ${line}\n`);
        try {
          await runSuperNode({
            client: connection.client,
            endpoint: address,
            key,
            handle: (m) => flowerSite.handle(m),
            signal: stop.signal,
            heartbeatInterval: o.heartbeatInterval,
            log,
            onExchange: (r) =>
              log(
                `${r.type} round ${r.round ?? '?'}: pulled ${r.pulledObjects} objects ${(r.pulledBytes / MB).toFixed(3)} MB, pushed ${r.pushedObjects} objects ${(r.pushedBytes / MB).toFixed(3)} MB, ${r.seconds.toFixed(1)} s${r.error ? `, answered with an error: ${r.error}` : ''}`,
              ),
          });
        } finally {
          connection.close();
          flowerSite.dispose();
        }
      });
    });
}
