import type { NamedArrays } from '../engine/named_arrays.js';
import type { TaskResult } from '../engine/worker_protocol.js';
import { createClientApp, type ClientApp } from './client_app.js';
import type { ClientContext } from './client_context.js';
import type { EvaluateInstruction, EvaluateReply, TrainInstruction, TrainReply } from './messages.js';
import { ModelCache } from './model_cache.js';
import { federationOf, siteOf, type DataRef } from './site_data.js';

/** A simulated site's job: its data, the instruction, and its context. */
export interface SiteJob<I> {
  data: DataRef;
  site: string;
  instruction: I;
  context: ClientContext;
}

// One model per role and architecture per worker, shared by the sites the worker serves.
const models = new ModelCache();
const apps = new Map<string, Promise<ClientApp>>();

function appFor(data: DataRef, site: string): Promise<ClientApp> {
  const key = `${JSON.stringify(data)}:${site}`;
  let app = apps.get(key);
  if (app === undefined) {
    app = federationOf(data).then((fed) => createClientApp(siteOf(fed, site, data.dir), fed, models));
    apps.set(key, app);
  }
  return app;
}

/** The buffers of `arrays`, each once (arrays may share one). */
function buffersOf(...arrays: NamedArrays[]): ArrayBuffer[] {
  return [...new Set(arrays.flatMap((a) => Object.values(a).map((x) => x.data.buffer as ArrayBuffer)))];
}

/** The simulation's worker tasks: a site's client app fitting or evaluating. */
export const tasks = {
  async fit(job: SiteJob<TrainInstruction>): Promise<TaskResult<{ reply: TrainReply; context: ClientContext }>> {
    const out = await (await appFor(job.data, job.site)).fit(job.instruction, job.context);
    return { output: out, transfer: buffersOf(out.reply.arrays, out.context.arrays) };
  },
  async evaluate(job: SiteJob<EvaluateInstruction>): Promise<TaskResult<EvaluateReply>> {
    return { output: await (await appFor(job.data, job.site)).evaluate(job.instruction, job.context) };
  },
};

/** The task table's type, which types the simulation's worker pool. */
export type SimulationTasks = typeof tasks;
