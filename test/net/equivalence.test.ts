import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { join, metricsOf, serve, SITES, TINY, tinyDeployment } from './federation.js';
import { start, stopAll } from './processes.js';

after(stopAll);

for (const strategy of ['fedavg', 'fedbn', 'harmofl']) {
  test(`${strategy}: serve plus one join per site gives exactly the metrics of harmofl train`, async () => {
    const { root, data, kits } = await tinyDeployment();
    const simulated = path.join(root, 'train');
    const train = start(['train', '--data', data, '--strategy', strategy, '--rounds', '2', '--workers', '2', '--out', simulated, ...TINY]);
    assert.equal(await train.exited, 0, train.output());
    const deployed = path.join(root, 'serve');
    const { proc, port } = await serve(kits, deployed, ['--strategy', strategy, '--rounds', '2']);
    const sites = SITES.map((s) => join(kits, data, s, port));
    assert.equal(await proc.exited, 0, proc.output());
    for (const s of sites) assert.equal(await s.exited, 0, s.output());
    // Told the run is over, every site ends its stream: none is left for the coordinator to close.
    assert.doesNotMatch(proc.output(), /still connected 5 s after the run finished/);
    assert.deepEqual(await metricsOf(deployed), await metricsOf(simulated));
    assert.match(sites[0]!.output(), /round 1: sent update: \d+ entries, \d+ bytes/);
  });
}
