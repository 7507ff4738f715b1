import type { Command } from 'commander';
import { parseAddress } from '../pki/kit_config.js';
import { addSite, provisionFederation, revokeSite, siteKitDir } from '../pki/kits.js';
import { oneOf, parseList } from './options.js';

interface ProvisionOptions {
  federation?: string;
  server?: string;
  hosts?: string[];
  sites?: string[];
  out: string;
  curve: 'P-256' | 'P-384';
  addSite?: string;
  revoke?: string;
}

/** The default coordinator port (sites dial it; `--server HOST:PORT` changes it). */
const DEFAULT_PORT = 8443;

/** `harmofl provision`: a federation's CA and startup kits, or a site added or revoked. */
export function registerProvision(program: Command): void {
  program
    .command('provision')
    .description('make a federation CA and one startup kit per participant (server and sites), or add / revoke a site')
    .option('--federation <name>', 'federation name (in every certificate and message)')
    .option('--server <host[:port]>', `where sites reach the coordinator (port default ${DEFAULT_PORT})`)
    .option('--hosts <a,b>', 'more host names / IPs for the server certificate', parseList)
    .option('--sites <a,b,c>', "site names, in the federation's order", parseList)
    .option('--out <dir>', 'kits folder', 'kits')
    .option('--curve <c>', 'P-256 | P-384', oneOf('--curve', ['P-256', 'P-384'] as const), 'P-256' as const)
    .option('--add-site <name>', 'add a site to the federation in --out (reuses its CA)')
    .option('--revoke <name>', 'revoke a site of the federation in --out')
    .action(async (o: ProvisionOptions) => {
      if (o.addSite !== undefined) {
        await addSite(o.out, o.addSite);
        process.stdout.write(`added site ${o.addSite}: copy ${siteKitDir(o.out, o.addSite)} to it; restart the coordinator to let it in\n`);
        return;
      }
      if (o.revoke !== undefined) {
        await revokeSite(o.out, o.revoke);
        process.stdout.write(`revoked site ${o.revoke}: the coordinator refuses its certificate from its next start\n`);
        return;
      }
      if (o.federation === undefined || o.server === undefined || o.sites === undefined)
        throw new Error('provision needs --federation, --server and --sites (or --add-site / --revoke)');
      const { host, port } = parseAddress(o.server, DEFAULT_PORT);
      const hosts = [...new Set([host, ...(o.hosts ?? [])])];
      await provisionFederation(o.out, { federation: o.federation, hosts, port, sites: o.sites, curve: o.curve });
      process.stdout.write(
        `federation ${o.federation}: CA in ${o.out}/ca (keep it here), server kit ${o.out}/server (names ${hosts.join(', ')}, port ${port}), site kits ${o.sites.map((s) => siteKitDir(o.out, s)).join(', ')}\n`,
      );
    });
}
