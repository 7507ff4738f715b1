import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type { Task } from '../data/manifest.js';
import { writeFileAtomic } from '../engine/atomic_write.js';
import { fromNamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import { createModel, type AmpNormModel } from '../harmofl/create_model.js';
import { saveModel } from '../harmofl/model_file.js';
import { saveModelSafetensors } from '../harmofl/model_safetensors.js';
import { readCheckpoint, writeCheckpoint, type CheckpointHeader } from './checkpoint.js';
import type { ResumePoint, RoundEvent, RoundReport } from './round_loop.js';
import type { TrainConfig, TrainSummary } from './train_config.js';

type Header = CheckpointHeader<TrainConfig, RoundReport | undefined>;

/**
 * A run's folder on the server side: `metrics.jsonl`, `latest` and `best` models (`.hflm`, `.safetensors`),
 * `checkpoint.hflc` (server state only) after every round, `summary.json` at the end. It
 * subscribes to the round loop's events; it never sees client state.
 */
export class RunDirectory {
  private readonly started = performance.now();
  private model: AmpNormModel | undefined;

  constructor(
    readonly config: TrainConfig,
    readonly task: Task,
    readonly sites: readonly string[],
  ) {}

  private file(name: string): string {
    return path.join(this.config.out, name);
  }

  /** Starts the folder afresh (clearing what a previous run left), or reads where a resumed run stands. */
  async open(resume: boolean): Promise<ResumePoint | undefined> {
    await mkdir(this.config.out, { recursive: true });
    if (!resume) {
      await rm(this.file('clients'), { recursive: true, force: true });
      await writeFileAtomic(this.file('metrics.jsonl'), []);
      return undefined;
    }
    const ckpt = await readCheckpoint<TrainConfig, RoundReport | undefined>(this.file('checkpoint.hflc'));
    this.assertResumable(ckpt.header);
    // Rounds logged after the checkpoint (a crash between the two writes) are run again.
    const kept = (await readFile(this.file('metrics.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.trim() !== '' && (JSON.parse(l) as RoundReport).round <= ckpt.header.round);
    await writeFileAtomic(this.file('metrics.jsonl'), [new TextEncoder().encode(kept.map((l) => `${l}\n`).join(''))]);
    return { round: ckpt.header.round, global: ckpt.global, serverState: ckpt.server, best: ckpt.header.best };
  }

  /** Saves a finished round: models, the server checkpoint, then its metrics line. */
  async record(event: RoundEvent): Promise<void> {
    const { report, global } = event;
    this.model ??= createModel(this.config.model.config, new Rng(this.config.seed), this.config.model.amp);
    const state = fromNamedArrays(global);
    this.model.params.loadState(state);
    tf.dispose([...state.values()]);
    // Each model twice: harmofl's file, and safetensors that PyTorch loads into the reference network.
    for (const name of report.isBest ? ['latest', 'best'] : ['latest']) {
      await saveModel(this.file(`${name}.hflm`), this.model);
      await saveModelSafetensors(this.file(`${name}.safetensors`), this.model);
    }
    const header: Header = {
      format: 'harmofl-checkpoint',
      version: 2,
      round: report.round,
      best: event.best,
      config: this.config,
      task: this.task,
      sites: [...this.sites],
    };
    await writeCheckpoint(this.file('checkpoint.hflc'), { header, global, server: event.serverState });
    await appendFile(
      this.file('metrics.jsonl'),
      `${JSON.stringify({ ...report, elapsedSeconds: (performance.now() - this.started) / 1000 })}\n`,
    );
  }

  /** Writes `summary.json` for the best round and frees the model. */
  async finish(best: RoundReport): Promise<TrainSummary> {
    this.model?.dispose();
    const summary: TrainSummary = {
      strategy: this.config.strategy,
      task: this.task,
      metric: this.task === 'classification' ? 'accuracy' : 'dice',
      bestRound: best.round,
      // NaN for a site absent from the best round (a deployed site that was away).
      perSiteTest: Object.fromEntries(this.sites.map((s) => [s, best.sites[s]?.test ?? Number.NaN])),
      meanTest: best.meanTest,
      wallSeconds: (performance.now() - this.started) / 1000,
      config: this.config,
    };
    await writeFileAtomic(this.file('summary.json'), [new TextEncoder().encode(`${JSON.stringify(summary, null, 2)}\n`)]);
    return summary;
  }

  /** A checkpoint made with another task, model, strategy or federation cannot be continued. */
  private assertResumable(h: Header): void {
    const file = this.file('checkpoint.hflc');
    const differs = (what: string, was: unknown, now: unknown): never => {
      throw new Error(
        `${file} was made with ${what} ${JSON.stringify(was)}; this run has ${JSON.stringify(now)}. Use another --out, or the same settings`,
      );
    };
    if (h.task !== this.task) differs('task', h.task, this.task);
    if (h.config.strategy !== this.config.strategy) differs('strategy', h.config.strategy, this.config.strategy);
    if (!isDeepStrictEqual(h.config.model, this.config.model)) differs('model', h.config.model, this.config.model);
    if (!isDeepStrictEqual(h.sites, this.sites)) differs('sites', h.sites, this.sites);
    if (h.round + 1 >= this.config.rounds) throw new Error(`${file}: the run already finished its ${this.config.rounds} rounds`);
  }
}
