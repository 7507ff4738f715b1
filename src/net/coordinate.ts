import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Task } from '../data/manifest.js';
import { writeFileAtomic } from '../engine/atomic_write.js';
import type { FederationFormat } from '../data/federation.js';
import { federate } from '../fl/federate.js';
import type { FederationEvent } from '../fl/round_loop.js';
import type { TrainConfig, TrainSummary } from '../fl/train_config.js';
import { MessageKind } from '../gen/harmofl/v1/federation_pb.js';
import type { Kit, ServerKitConfig } from '../pki/kit_config.js';
import { Coordinator } from './coordinator.js';
import { NetworkGrid } from './network_grid.js';
import { listen } from './server.js';

/** The shape of the sites' data, as the first site to connect described it. */
export interface SitesShape {
  task: Task;
  inputShape: [number, number, number];
  numClasses: number;
  format: FederationFormat;
}

/** What `harmofl serve` runs with. */
export interface CoordinateOptions {
  kit: Kit<ServerKitConfig>;
  out: string;
  host: string;
  port: number;
  /** The run's configuration once the sites' data shape is known. */
  configFor(shape: SitesShape): TrainConfig;
  /** How sites must load their data (so every site splits and cuts it as the simulation does). */
  data: { seed: number; imbalance: boolean; resize: number };
  minClients: number;
  /** Sites to wait for before the first round (default and floor: `minClients`). */
  startClients?: number;
  roundTimeoutMs?: number;
  /** How long the run waits for its first `minClients` sites. */
  joinTimeoutMs: number;
  /** How long a round waits at its start for sites that dropped out. */
  rejoinWaitMs: number;
  resume: boolean;
  insecure?: boolean;
  log: (line: string) => void;
  /** Told the port once listening, the config once known, then each round-loop event. */
  onListening?: (port: number) => void;
  onEvent?: (event: FederationEvent, config: TrainConfig) => void;
}

/** The run id of `out`: kept across a resume, so replies to the crashed process's instructions are still told apart by message id only. */
async function runIdOf(out: string, resume: boolean): Promise<string> {
  const file = path.join(out, 'deployment.json');
  if (resume) {
    const kept = await readFile(file, 'utf8').then(
      (t) => (JSON.parse(t) as { runId?: unknown }).runId,
      () => undefined,
    );
    if (typeof kept === 'string') return kept;
  }
  const runId = randomUUID();
  await mkdir(out, { recursive: true });
  await writeFileAtomic(file, [new TextEncoder().encode(`${JSON.stringify({ runId }, null, 2)}\n`)]);
  return runId;
}

/**
 * A deployed run: listens for sites, waits (bounded) for `startClients` of them, then runs the
 * same composition as the simulation (`federate`) over the network grid, tolerating sites that
 * fail or time out. Tells every site when the run is over, then stops listening.
 */
export async function coordinate(o: CoordinateOptions): Promise<TrainSummary> {
  const runId = await runIdOf(o.out, o.resume);
  const coordinator = new Coordinator({
    kit: o.kit.config,
    runId,
    data: o.data,
    maxReplyBytes: 1 << 30,
    heartbeatMs: 5000,
    insecure: o.insecure === true,
    log: o.log,
  });
  const server = await listen(coordinator, o.kit, { host: o.host, port: o.port, ...(o.insecure === true ? { insecure: true } : {}) });
  try {
    o.onListening?.(server.port);
    const grid = new NetworkGrid(coordinator, o.rejoinWaitMs);
    const startClients = Math.max(o.minClients, o.startClients ?? 0);
    o.log(
      `waiting up to ${o.joinTimeoutMs / 1000} s for ${startClients} of ${o.kit.config.sites.length} sites (${o.kit.config.sites.join(', ')})`,
    );
    await grid.waitForSites(startClients, o.joinTimeoutMs, (c) => o.log(`connected: ${c.join(', ') || 'none'}`));
    const shape = coordinator.data()!;
    const config = o.configFor({
      task: shape.task as Task,
      inputShape: shape.inputShape as [number, number, number],
      numClasses: shape.numClasses,
      format: shape.format as FederationFormat,
    });
    coordinator.progress.phase = 'running';
    coordinator.progress.rounds = config.rounds;
    const sites = o.kit.config.sites.filter((s) => !o.kit.config.revoked.includes(s));
    const tolerance = { minClients: o.minClients, ...(o.roundTimeoutMs !== undefined ? { roundTimeoutMs: o.roundTimeoutMs } : {}) };
    const run = federate(config, shape.task as Task, sites, async () => grid, { resume: o.resume, tolerance });
    for (;;) {
      const next = await run.next();
      if (next.done === true) {
        coordinator.progress.phase = 'finished';
        coordinator.broadcast({ kind: MessageKind.RUN_FINISHED, round: config.rounds - 1 });
        // Sites disconnect once told; give them a moment to hear it.
        const graceMs = 5000;
        const deadline = Date.now() + graceMs;
        while (coordinator.connected().length > 0 && Date.now() < deadline) await coordinator.changes(deadline - Date.now());
        const lingering = coordinator.connected();
        if (lingering.length > 0) o.log(`still connected ${graceMs / 1000} s after the run finished, closing: ${lingering.join(', ')}`);
        return next.value;
      }
      const event = next.value;
      coordinator.progress.round = event.type === 'round' ? event.report.round : event.round;
      if (event.type === 'round') coordinator.progress.lastMetrics = JSON.stringify(event.report);
      o.onEvent?.(event, config);
    }
  } finally {
    await server.close();
  }
}
