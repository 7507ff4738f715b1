// A TCP relay that delays every chunk by a fixed time in each direction: the latency half of
// scripts/netns_federation.sh on kernels without the netem qdisc. It runs in the router network
// namespace, between the sites and the coordinator, and forwards bytes unchanged (TLS stays end to end).
// Usage: node netns_delay_relay.mjs LISTEN_HOST:PORT TARGET_HOST:PORT DELAY_MS MAX_SECONDS
import net from 'node:net';

const [listen, target, delayArg, maxArg] = process.argv.slice(2);
const split = (hp) => {
  const i = hp.lastIndexOf(':');
  return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
};
const from = split(listen);
const to = split(target);
const delayMs = Number(delayArg);
const HIGH_WATER = 8 << 20; // bytes held back per direction before reading pauses

/** Forwards `src` to `dst`, each chunk `delayMs` after it arrived, in order; ends (or resets) `dst` likewise. */
function pipeDelayed(src, dst) {
  const queue = []; // { due, chunk }; chunk 'end' or 'reset' closes dst
  let held = 0;
  let timer;
  let ended = false;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0].due <= now) {
      const { chunk } = queue.shift();
      if (dst.destroyed) return;
      if (chunk === 'end') return void dst.end();
      if (chunk === 'reset') return void dst.destroy();
      held -= chunk.length;
      dst.write(chunk);
    }
    if (held < HIGH_WATER && src.isPaused()) src.resume();
    if (queue.length > 0) timer = setTimeout(flush, queue[0].due - now);
  };
  const push = (chunk) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    if (typeof chunk !== 'string') held += chunk.length;
    if (held >= HIGH_WATER) src.pause();
    timer ??= setTimeout(flush, delayMs);
  };
  src.on('data', push);
  src.on('end', () => ((ended = true), push('end')));
  src.on('close', () => ended || push('reset'));
  src.on('error', () => {}); // followed by 'close'
}

let connections = 0;
const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  connections++;
  const upstream = net.connect({ ...to, allowHalfOpen: true, noDelay: true });
  pipeDelayed(client, upstream);
  pipeDelayed(upstream, client);
});
server.listen(from.port, from.host, () => console.log(`relay ${listen} -> ${target}, +${delayMs} ms each way`));
// Bounded: the relay stops by itself even if nobody stops it.
setTimeout(
  () => {
    console.log(`relay: ${connections} connections, stopping after ${maxArg} s`);
    process.exit(0);
  },
  Number(maxArg) * 1000,
).unref();
