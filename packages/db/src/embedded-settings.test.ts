import { describe, expect, it } from 'vitest';
import { connect, EMBEDDED_SETTINGS } from './connect.ts';

describe('the embedded database', () => {
  it('runs with the PostgreSQL settings chosen for its memory footprint', async () => {
    // Its cache is the largest part of the server's memory that a setting controls (PostgreSQL's default is 128MB).
    expect(EMBEDDED_SETTINGS.shared_buffers).toBe('32MB');
    // Embedded whatever DATABASE_URL says: these settings are PGlite's alone.
    const database = await connect({ dataDir: 'memory://' });
    try {
      expect(database.kind).toBe('pglite');
      for (const [name, value] of Object.entries(EMBEDDED_SETTINGS)) {
        const [row] = await database.sql.unsafe<{ setting: string }[]>(`select current_setting('${name}') as setting`);
        expect(row?.setting, name).toBe(value);
      }
    } finally {
      await database.close();
    }
  });
});
