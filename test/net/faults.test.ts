import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { join, metricsOf, serve, SITES, TINY, tinyDeployment } from './federation.js';
import { start, stop, stopAll } from './processes.js';

after(stopAll);

interface Line {
  round: number;
  sites: Record<string, { trainLoss: number | null }>;
  failures?: Array<{ site: string; kind: string }>;
}

test('a client killed mid-round: the round completes with the others, and the client rejoins the next round with its saved state', async () => {
  const { root, data, kits } = await tinyDeployment();
  const out = path.join(root, 'serve');
  const { proc, port } = await serve(kits, out, [
    '--strategy',
    'fedavg',
    '--rounds',
    '3',
    '--min-clients',
    '2',
    // All three present from round 1: tiny rounds would otherwise finish before a slow-starting site joins.
    '--start-clients',
    '3',
    '--round-timeout',
    '30',
    '--rejoin-wait',
    '60',
  ]);
  const [a, b] = SITES.slice(0, 2).map((s) => join(kits, data, s, port));
  const victim = join(kits, data, SITES[2]!, port, ['--reply-delay', '1500']);
  // Trained round 2 and holding its reply: killed before it is sent.
  await victim.waitFor(/round 2: trained/);
  await stop(victim);
  const back = join(kits, data, SITES[2]!, port);
  assert.equal(await proc.exited, 0, proc.output());
  for (const p of [a!, b!, back]) assert.equal(await p.exited, 0, p.output());
  const lines = (await metricsOf(out)) as Line[];
  assert.equal(lines.length, 3);
  assert.ok(
    lines[1]!.failures?.some((f) => f.site === 'hospital2' && f.kind === 'disconnected'),
    JSON.stringify(lines[1]),
  );
  assert.equal(lines[1]!.sites['hospital2']?.trainLoss ?? null, null, 'the killed site did not train round 2');
  assert.ok(Number.isFinite(lines[1]!.sites['hospital0']!.trainLoss), 'the others did');
  assert.ok(Number.isFinite(lines[2]!.sites['hospital2']!.trainLoss), 'the rejoined site trains round 3');
  assert.equal(lines[2]!.failures, undefined);
  assert.match(proc.output(), /round 2: trained hospital0, hospital1; timed out -; disconnected hospital2/);
});

test("a straggler's late update is refused, not averaged into the wrong round", async () => {
  const { root, data, kits } = await tinyDeployment();
  const out = path.join(root, 'serve');
  const { proc, port } = await serve(kits, out, [
    '--strategy',
    'fedavg',
    '--rounds',
    '2',
    '--min-clients',
    '2',
    '--start-clients',
    '3',
    '--round-timeout',
    '5',
  ]);
  const honest = SITES.slice(0, 2).map((s) => join(kits, data, s, port));
  const slow = join(kits, data, SITES[2]!, port, ['--reply-delay', '7000']);
  await proc.waitFor(/refused hospital2: reply .* late: its round-trip deadline \(5 s\) had passed/, 90_000);
  assert.equal(await proc.exited, 0, proc.output());
  for (const p of honest) assert.equal(await p.exited, 0, p.output());
  await stop(slow);
  const lines = (await metricsOf(out)) as Line[];
  for (const l of lines) {
    assert.ok(
      l.failures?.some((f) => f.site === 'hospital2' && f.kind === 'timeout'),
      JSON.stringify(l),
    );
    assert.equal(l.sites['hospital2']?.trainLoss ?? null, null);
  }
  assert.match(slow.output(), /REFUSED: .*late/);
});

test('the coordinator SIGKILLed mid-run and restarted with --resume: clients reconnect and the metrics equal an uninterrupted run', async () => {
  const { root, data, kits } = await tinyDeployment();
  const reference = path.join(root, 'train');
  const train = start(['train', '--data', data, '--strategy', 'fedavg', '--rounds', '4', '--workers', '2', '--out', reference, ...TINY]);
  const out = path.join(root, 'serve');
  const args = ['--strategy', 'fedavg', '--rounds', '4'];
  const first = await serve(kits, out, args);
  const sites = SITES.map((s) => join(kits, data, s, first.port));
  await first.proc.waitFor(/round 2: trained/);
  await stop(first.proc);
  const again = await serve(kits, out, [...args, '--resume'], first.port);
  assert.equal(await again.proc.exited, 0, again.proc.output());
  for (const s of sites) assert.equal(await s.exited, 0, s.output());
  assert.match(sites[0]!.output(), /reconnecting/);
  assert.equal(await train.exited, 0, train.output());
  assert.deepEqual(await metricsOf(out), await metricsOf(reference));
});
