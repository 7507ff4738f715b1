import path from 'node:path';
import { Option, type Command } from 'commander';
import type { BackendChoice } from '../engine/backend.js';
import { runSite } from '../net/site_client.js';
import { readSiteKit } from '../pki/kit_config.js';
import { addBackendOption, initCommandBackend } from './options.js';
import { warnInsecure } from './serve_command.js';

interface JoinOptions {
  kit: string;
  data: string;
  site?: string;
  state?: string;
  server?: string;
  insecure?: boolean;
  replyDelay?: number;
  backend: BackendChoice;
  threads?: number;
}

/** `harmofl join`: a hospital's client of a deployed federation. */
export function registerJoin(program: Command): void {
  const cmd = program
    .command('join')
    .description(
      "take part in a deployed federation: train and evaluate on this site's data when the coordinator asks, send only model updates",
    )
    .requiredOption('--kit <dir>', "this site's kit (from harmofl provision)")
    .requiredOption('--data <dir>', "this site's data (its own folder, or a federation folder holding it)")
    .option('--site <name>', "the site's name in a multi-site --data folder (default: the kit's site)")
    .option('--state <dir>', 'where the site keeps its own state between rounds (default: <kit>/state)')
    .option('--server <host:port>', "the coordinator's address (default: the kit's)")
    .option('--insecure', 'plain text, no TLS (local experiments only)')
    // A fault drill, not a setting: makes this site a straggler.
    .addOption(new Option('--reply-delay <ms>', 'wait before each reply').argParser((v: string) => Number(v)).hideHelp());
  addBackendOption(cmd).action(async (o: JoinOptions) => {
    const kit = await readSiteKit(o.kit);
    if (o.insecure === true) warnInsecure(`SITE ${kit.config.site}`);
    if (o.site !== undefined && o.site !== kit.config.site)
      throw new Error(`--site ${o.site}, but the kit is site ${kit.config.site}'s; a site joins with its own kit`);
    const backend = await initCommandBackend(o);
    const log = (line: string): void => void process.stdout.write(`[${kit.config.site}] ${line}\n`);
    log(`backend: ${backend.name} (${backend.detail})`);
    await runSite({
      kit: o.server === undefined ? kit : { ...kit, config: { ...kit.config, server: o.server } },
      site: kit.config.site,
      data: o.data,
      state: o.state ?? path.join(o.kit, 'state'),
      ...(o.insecure === true ? { insecure: true } : {}),
      ...(o.replyDelay !== undefined ? { replyDelayMs: o.replyDelay } : {}),
      log,
    });
  });
}
