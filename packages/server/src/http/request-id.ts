import { newId } from '../ids.ts';

const CALLER_REQUEST_ID = /^[\x20-\x7e]{1,128}$/;

/** The caller's `X-Request-ID` when it is 1–128 printable ASCII characters, otherwise a new `req_…`. */
export function requestIdFor(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && CALLER_REQUEST_ID.test(value) ? value : newId('request');
}
