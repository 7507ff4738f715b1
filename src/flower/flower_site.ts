import path from 'node:path';
import type { Federation } from '../data/manifest.js';
import { Rng } from '../engine/rng.js';
import type { ClientApp } from '../fl/client_app.js';
import { ClientStore } from '../fl/client_store.js';
import { siteSeed } from '../fl/round_loop.js';
import type { RunSpec } from '../fl/run_spec.js';
import { siteOf } from '../fl/site_data.js';
import { createModel } from '../harmofl/create_model.js';
import type { FlowerMessage } from './message_tree.js';
import { instructionOf, replyOf, TorchStateCodec } from './translate.js';

/** One hospital's side of a Flower run: Flower messages in, the site's client app, Flower replies out. */
export interface FlowerSite {
  readonly site: string;
  /** Answers a train or evaluate message, naming its 1-based server round (throws FlowerMessageError on one harmofl cannot act on). */
  handle(message: FlowerMessage): Promise<{ reply: FlowerMessage; round: number }>;
  dispose(): void;
}

/** Where a site's Flower run comes from: its federation, its name and client app, the run spec built from its options, and its seed. */
export interface FlowerSiteOptions {
  fed: Federation;
  dataDir: string;
  site: string;
  /** The site's client app (`workerClientApp` keeps training off the heartbeat's thread). */
  app: ClientApp;
  spec: RunSpec;
  seed: number;
  /** The site's own state between rounds; each Flower run keeps its ClientStore in `run-<run id>` below it. */
  stateDir: string;
}

/**
 * Opens a site: its data, its client app, its state folder. Seeds follow
 * the simulation's (seed, round, site index), so a Flower run draws what `harmofl train` draws.
 */
export async function openFlowerSite(o: FlowerSiteOptions): Promise<FlowerSite> {
  const data = siteOf(o.fed, o.site, o.dataDir);
  const index = o.fed.sites.indexOf(data);
  const app = o.app;
  // One store per Flower run: a restarted site resumes its run's state, a new run starts afresh.
  const stores = new Map<bigint, Promise<ClientStore>>();
  const storeOf = (runId: bigint): Promise<ClientStore> => {
    let store = stores.get(runId);
    if (store === undefined) stores.set(runId, (store = ClientStore.open(o.site, path.join(o.stateDir, `run-${runId}`))));
    return store;
  };
  const model = createModel(o.spec.model.config, new Rng(o.seed), o.spec.model.amp);
  const codec = new TorchStateCodec(model);
  const run = { spec: o.spec, seedFor: (round: number) => siteSeed(o.seed, round, index) };
  return {
    site: o.site,
    async handle(message) {
      const { instruction, dtypes } = instructionOf(message, codec, run);
      const store = await storeOf(message.metadata.runId);
      if (instruction.kind === 'train') {
        const { reply, context } = await app.fit(instruction, store.forFit(instruction.round));
        await store.save(context);
        return { reply: replyOf(message, reply, codec, dtypes), round: instruction.round + 1 };
      }
      return {
        reply: replyOf(message, await app.evaluate(instruction, store.forEvaluate(instruction.round)), codec, dtypes),
        round: instruction.round + 1,
      };
    },
    dispose: () => model.dispose(),
  };
}
