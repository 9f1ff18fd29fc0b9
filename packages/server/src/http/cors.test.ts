import { describe, expect, it } from 'vitest';
import { parseCorsOrigins } from './cors.ts';

describe('parseCorsOrigins', () => {
  it('takes exact origins, comma-separated, trimmed, each once', () => {
    expect(parseCorsOrigins(' https://app.example.com, http://127.0.0.1:5173 ,https://app.example.com,')).toEqual([
      'https://app.example.com',
      'http://127.0.0.1:5173',
    ]);
    expect(parseCorsOrigins('')).toEqual([]);
    expect(parseCorsOrigins(['http://[::1]:8080'])).toEqual(['http://[::1]:8080']);
  });

  it.each([
    ['*', /not an exact origin/],
    ['null', /not an exact origin/],
    ['https://app.example.com/', /here: https:\/\/app\.example\.com\)/],
    ['https://app.example.com/path', /not an exact origin/],
    ['https://App.Example.com', /here: https:\/\/app\.example\.com\)/],
    ['https://app.example.com:443', /here: https:\/\/app\.example\.com\)/],
    ['https://*.example.com', /not an exact origin/],
    ['app.example.com', /not an exact origin/],
    ['ftp://files.example.com', /not an exact origin/],
    ['https://user@app.example.com', /not an exact origin/],
  ])('refuses %s, saying what an origin looks like', (entry, message) => {
    expect(() => parseCorsOrigins(`https://ok.example.com,${entry}`)).toThrow(message);
    expect(() => parseCorsOrigins(entry)).toThrow(`"${entry}" is not an exact origin`);
  });
});
