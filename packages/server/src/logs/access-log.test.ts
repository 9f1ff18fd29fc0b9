import { describe, expect, it } from 'vitest';
import { isStorable } from '../storable.ts';
import { boundText, MAX_LOGGED_PATH } from './access-log.ts';

describe('boundText', () => {
  it('keeps text within the bound as it is', () => {
    expect(boundText('/api/v1/modules', MAX_LOGGED_PATH)).toBe('/api/v1/modules');
    const exact = 'a'.repeat(MAX_LOGGED_PATH);
    expect(boundText(exact, MAX_LOGGED_PATH)).toBe(exact);
  });

  it('cuts longer text to the bound, ending in an ellipsis', () => {
    const cut = boundText(`/${'x'.repeat(45_000)}`, MAX_LOGGED_PATH);
    expect(cut).toHaveLength(MAX_LOGGED_PATH);
    expect(cut).toBe(`/${'x'.repeat(MAX_LOGGED_PATH - 2)}…`);
  });

  it('never keeps half of a surrogate pair', () => {
    // '😀' is two UTF-16 code units; the cut at 9 would fall between them.
    const text = `${'a'.repeat(8)}😀${'b'.repeat(10)}`;
    const cut = boundText(text, 10);
    expect(cut).toBe(`${'a'.repeat(8)}…`);
    expect(isStorable(cut)).toBe(true);
    expect(boundText(`${'a'.repeat(7)}😀${'b'.repeat(10)}`, 10)).toBe(`${'a'.repeat(7)}😀…`);
  });
});
