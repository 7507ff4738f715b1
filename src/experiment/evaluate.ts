import path from 'node:path';
import { existsSync } from 'node:fs';
import type { Federation } from '../data/manifest.js';
import type { NamedArrays } from '../engine/named_arrays.js';
import { createClientApp } from '../fl/client_app.js';
import { entriesUnder, replaceEntries, emptyContext } from '../fl/client_context.js';
import { ClientStore } from '../fl/client_store.js';
import { PROTOCOL_VERSION } from '../fl/messages.js';
import { ModelCache } from '../fl/model_cache.js';
import { CONFIG_KEYS, encodeRunSpec, type ModelRef } from '../fl/run_spec.js';

/** One site's metric on one split. */
export interface SiteMetric {
  site: string;
  metric: number;
  samples: number;
}

/** Fails when a model of one task is given a federation of the other, naming both. */
export function assertTaskFits(model: ModelRef, fed: Federation, modelFile: string, dataDir: string): void {
  const task = model.config.kind === 'densenet' ? 'classification' : 'segmentation';
  if (task !== fed.task)
    throw new Error(
      `${modelFile} is a ${task} model (${model.config.kind}) but ${dataDir} is a ${fed.task} federation; use a ${fed.task} model with it`,
    );
  const classes = model.config.kind === 'densenet' ? model.config.numClasses : model.config.outChannels;
  if (classes !== fed.numClasses) throw new Error(`${modelFile} predicts ${classes} classes but ${dataDir} has ${fed.numClasses}`);
}

/**
 * Each site's own entries for a model saved by a run (FedBN's normalization), read from the
 * run's `clients/<site>` folders: those of the best round for `best.*`, else the latest.
 */
export async function siteEntriesOf(modelFile: string, sites: readonly string[]): Promise<Map<string, NamedArrays>> {
  const clients = path.join(path.dirname(modelFile), 'clients');
  const out = new Map<string, NamedArrays>();
  if (!existsSync(clients)) return out;
  const best = path.basename(modelFile).startsWith('best');
  for (const site of sites) {
    if (!existsSync(path.join(clients, site))) continue;
    const entries = entriesUnder((await ClientStore.open(site, path.join(clients, site))).latest(), best ? 'best' : 'local');
    if (Object.keys(entries).length > 0) out.set(site, entries);
  }
  return out;
}

/** The reference metric of `state` on one split of every site, each with its own entries where given. */
export async function evaluateSites(
  model: ModelRef,
  state: NamedArrays,
  fed: Federation,
  split: 'val' | 'test',
  batch: number,
  siteEntries: ReadonlyMap<string, NamedArrays> = new Map(),
): Promise<SiteMetric[]> {
  const models = new ModelCache();
  // Evaluation reads only the model and the batch of the run spec.
  const run = encodeRunSpec({
    strategy: 'fedavg',
    options: {},
    model,
    optimizer: { kind: 'sgd', lr: 1, momentum: 0, weightDecay: 0 },
    epochs: 1,
    batch,
    augment: false,
  });
  try {
    const out: SiteMetric[] = [];
    for (const site of fed.sites) {
      const context = { ...emptyContext(site.name), arrays: replaceEntries({}, 'local', siteEntries.get(site.name) ?? {}) };
      const reply = await createClientApp(site, fed, models).evaluate(
        {
          kind: 'evaluate',
          version: PROTOCOL_VERSION,
          round: 0,
          arrays: state,
          config: { [CONFIG_KEYS.run]: run, [CONFIG_KEYS.splits]: split },
        },
        context,
      );
      out.push({ site: site.name, metric: reply.metrics[split]!, samples: reply.samples[split]! });
    }
    return out;
  } finally {
    models.dispose();
  }
}
