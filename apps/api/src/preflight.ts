import { createServer } from 'node:net';

/**
 * Checks that HOST:PORT can be listened on, before anything slow (the embedded database's first
 * set-up takes many seconds): a name that does not resolve, an address this machine does not
 * have, or a port in use stops the start at once with a message naming the setting.
 * Returns undefined when it can, else the problem in the settings' own words.
 */
export async function listenProblem(host: string, port: number): Promise<string | undefined> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, resolve);
    });
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') return `PORT=${port}: already in use on ${host}; stop what listens there, or choose another PORT`;
    if (code === 'EACCES') return `PORT=${port}: this user may not listen on it (ports below 1024 need privileges)`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return `HOST=${JSON.stringify(host)}: not a resolvable name (${code})`;
    if (code === 'EADDRNOTAVAIL') return `HOST=${JSON.stringify(host)}: not an address of this machine`;
    return `HOST=${JSON.stringify(host)} PORT=${port}: cannot listen there (${(error as Error).message})`;
  } finally {
    await new Promise<void>((resolve) => (probe.listening ? probe.close(() => resolve()) : resolve()));
  }
}
