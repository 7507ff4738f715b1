import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Writes `chunks` to `file` so a crash never leaves it half-written: temp file, fsync, rename. `mode` sets the permissions from the start (keys: 0o600). */
export async function writeFileAtomic(file: string, chunks: Uint8Array[], options: { mode?: number } = {}): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  // Created with the mode, so a key is never readable by others even for an instant.
  const handle = await open(tmp, 'w', options.mode ?? 0o666);
  try {
    if (options.mode !== undefined) await handle.chmod(options.mode);
    for (const chunk of chunks) await handle.write(chunk);
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  await rename(tmp, file);
}
