import path from 'node:path';
import type { WorkerPool } from '../engine/worker_pool.js';
import { ClientStore } from './client_store.js';
import { collectRoundTrip, type Grid, type RoundTrip, type SendOptions, type ServerNote, type SiteInstruction } from './grid.js';
import type { Instruction, ReplyTo } from './messages.js';
import type { SimulationTasks } from './simulation_tasks.js';
import type { DataRef } from './site_data.js';

/**
 * The simulation's grid: every site is a client app run on the worker pool. The grid is the
 * client side here, so it holds each site's context (in `clients/<site>/` of the run when given
 * a folder), the way a hospital's `harmofl join` holds its own.
 */
export class SimulationGrid implements Grid {
  private constructor(
    private readonly pool: WorkerPool<SimulationTasks>,
    private readonly data: DataRef,
    private readonly stores: Map<string, ClientStore>,
  ) {}

  /** A grid over `sites` of the federation at `data`; contexts persist under `clientsDir/<site>` when given. */
  static async open(
    pool: WorkerPool<SimulationTasks>,
    data: DataRef,
    sites: readonly string[],
    clientsDir?: string,
  ): Promise<SimulationGrid> {
    const stores = new Map<string, ClientStore>();
    for (const site of sites)
      stores.set(site, await ClientStore.open(site, clientsDir === undefined ? undefined : path.join(clientsDir, site)));
    return new SimulationGrid(pool, data, stores);
  }

  /** The store of one site. */
  private store(site: string): ClientStore {
    const s = this.stores.get(site);
    if (s === undefined) throw new Error(`no simulated site ${site}`);
    return s;
  }

  async sites(): Promise<string[]> {
    return [...this.stores.keys()];
  }

  async send<I extends Instruction>(messages: ReadonlyArray<SiteInstruction<I>>, options: SendOptions = {}): Promise<RoundTrip<I>> {
    return collectRoundTrip(messages, options, async ({ site, instruction }) => {
      try {
        return { reply: (await this.run(site, instruction)) as ReplyTo<I> };
      } catch (e) {
        return { failure: { site, kind: 'error', reason: e instanceof Error ? e.message : String(e) } };
      }
    });
  }

  async note(note: ServerNote): Promise<void> {
    if (note.kind === 'best-round') for (const s of this.stores.values()) await s.keepBest(note.round);
  }

  private async run(site: string, instruction: Instruction): Promise<ReplyTo<Instruction>> {
    const store = this.store(site);
    if (instruction.kind === 'train') {
      const { reply, context } = await this.pool.run('fit', {
        data: this.data,
        site,
        instruction,
        context: store.forFit(instruction.round),
      });
      await store.save(context);
      return reply;
    }
    return this.pool.run('evaluate', { data: this.data, site, instruction, context: store.forEvaluate(instruction.round) });
  }
}
