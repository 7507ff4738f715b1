import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Writes `chunks` to `file` so a crash never leaves it half-written: temp file, fsync, rename. */
export async function writeFileAtomic(file: string, chunks: Uint8Array[]): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const handle = await open(tmp, 'w');
  try {
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
