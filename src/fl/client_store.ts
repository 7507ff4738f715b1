import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../engine/atomic_write.js';
import { decodeArraysFile, encodeArraysFile } from '../engine/named_arrays_file.js';
import { emptyContext, entriesUnder, replaceEntries, type ClientContext } from './client_context.js';

const MAGIC = 'HFCX';
const FILE = /^context-(\d+)\.hflx$/;

interface ContextHeader {
  format: 'harmofl-client-context';
  version: 1;
  site: string;
  round: number;
  values: ClientContext['values'];
}

/**
 * A site's own state between rounds, kept by the client side (in its folder when it has one).
 * It keeps two generations tagged with their round: a server that crashed after a client saved
 * round r, but before its own checkpoint of r, resumes at r and the client trains it again from
 * the context of r - 1, so a crash between the two writes never mixes rounds.
 */
export class ClientStore {
  private constructor(
    readonly site: string,
    private readonly dir: string | undefined,
    private generations: ClientContext[],
  ) {}

  /** The store of `site`, read from `dir` when given (created when missing). */
  static async open(site: string, dir?: string): Promise<ClientStore> {
    if (dir === undefined) return new ClientStore(site, undefined, []);
    await mkdir(dir, { recursive: true });
    const generations: ClientContext[] = [];
    for (const name of (await readdir(dir)).filter((n) => FILE.test(n))) {
      const file = path.join(dir, name);
      const { header, arrays } = decodeArraysFile<ContextHeader>(await readFile(file), MAGIC, file, 'client context');
      if (header.site !== site)
        throw new Error(`${file} holds the state of site ${header.site}, not ${site}; point this site at its own folder`);
      generations.push({ site, round: header.round, arrays, values: header.values });
    }
    return new ClientStore(
      site,
      dir,
      generations.sort((a, b) => a.round - b.round),
    );
  }

  /** The context to train round `round` from: the newest made before it. */
  forFit(round: number): ClientContext {
    return this.generations.filter((c) => c.round < round).at(-1) ?? emptyContext(this.site);
  }

  /** The context to evaluate round `round` with: the newest made by it or before. */
  forEvaluate(round: number): ClientContext {
    return this.generations.filter((c) => c.round <= round).at(-1) ?? emptyContext(this.site);
  }

  /** The newest context (what `harmofl test` reads). */
  latest(): ClientContext {
    return this.generations.at(-1) ?? emptyContext(this.site);
  }

  /** Keeps `context` (replacing one of the same round and any newer) and the generation before it. */
  async save(context: ClientContext): Promise<void> {
    const older = this.generations.filter((c) => c.round < context.round);
    this.generations = [...older.slice(-1), context];
    if (this.dir === undefined) return;
    const header: ContextHeader = {
      format: 'harmofl-client-context',
      version: 1,
      site: this.site,
      round: context.round,
      values: context.values,
    };
    await writeFileAtomic(path.join(this.dir, `context-${context.round}.hflx`), encodeArraysFile(MAGIC, header, context.arrays));
    const kept = new Set(this.generations.map((c) => `context-${c.round}.hflx`));
    for (const name of (await readdir(this.dir)).filter((n) => FILE.test(n) && !kept.has(n)))
      await rm(path.join(this.dir, name), { force: true });
  }

  /** The server named `round` the best so far: the site keeps its own entries of that round (FedBN's normalization) as `best/`. */
  async keepBest(round: number): Promise<void> {
    const context = this.generations.find((c) => c.round === round);
    if (context === undefined) return;
    const local = entriesUnder(context, 'local');
    if (Object.keys(local).length > 0) await this.save({ ...context, arrays: replaceEntries(context.arrays, 'best', local) });
  }
}
