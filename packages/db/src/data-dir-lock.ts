import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * PGlite does not stop two processes from opening one data folder, and both writing to it would
 * corrupt it. The first process to open the folder writes its pid to `<folder>.lock`; another one
 * is refused with a message that names the holder, unless that process is gone (a stale lock).
 * Returns the function that releases the lock.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockFile = `${dataDir.replace(/\/+$/, '')}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      const release = () => {
        process.off('exit', release);
        try {
          if (readFileSync(lockFile, 'utf8') === String(process.pid)) unlinkSync(lockFile);
        } catch {
          // Already gone: nothing to release.
        }
      };
      process.on('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(lockFile, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new Error(
          `The embedded database in ${dataDir} is in use by process ${holder} (is the API running?). ` +
            'Stop that process first, or set DATABASE_URL to use a PostgreSQL server, which any number of processes can share.',
        );
      }
      unlinkSync(lockFile);
    }
  }
  throw new Error(`Could not lock ${lockFile}.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
