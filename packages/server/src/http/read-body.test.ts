import { describe, expect, it } from 'vitest';
import type { ApiError } from '../errors.ts';
import { exceedsDepth, parseJsonObject, parseQuery } from './read-body.ts';

const json = (text: string) => parseJsonObject(Buffer.from(text), 'application/json');
const failure = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected a failure');
};

describe('exceedsDepth', () => {
  it('counts objects and arrays, not brackets inside strings or after escaped quotes', () => {
    expect(exceedsDepth('[[[]]]', 3)).toBe(false);
    expect(exceedsDepth('[[[[]]]]', 3)).toBe(true);
    expect(exceedsDepth('{"a":{"b":[1]}}', 3)).toBe(false);
    expect(exceedsDepth('{"a":{"b":[{}]}}', 3)).toBe(true);
    expect(exceedsDepth(`{"a":"${'['.repeat(100)}"}`, 1)).toBe(false);
    expect(exceedsDepth(`{"a":"\\"${'['.repeat(100)}"}`, 1)).toBe(false);
    expect(exceedsDepth(`{"a":"\\\\",${'['.repeat(2)}`, 2)).toBe(true);
  });
});

describe('parseJsonObject', () => {
  it('refuses __proto__ keys anywhere, however escaped, naming each path', () => {
    const error = failure(() => json('{"a":[{"__proto__":1}],"__pro\\u0074o__":{},"b":{"c":{"__proto__":null}}}'));
    expect(error.code).toBe('validation_failed');
    expect(Object.keys(error.extras.errors ?? {})).toEqual(['a.0.__proto__', '__proto__', 'b.c.__proto__']);
  });

  it('keeps other prototype names as ordinary own keys', () => {
    const parsed = json('{"constructor":1,"toString":{"valueOf":2}}');
    expect(Object.keys(parsed)).toEqual(['constructor', 'toString']);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  it('answers a 1,000,000-deep body with bad_request', () => {
    expect(failure(() => json(`{"a":${'['.repeat(1_000_000)}`)).code).toBe('bad_request');
  });
});

describe('parseQuery', () => {
  it('keeps prototype names as own parameters and refuses __proto__', () => {
    const query = parseQuery(new URLSearchParams('constructor=1&filter[constructor]=a&filter[constructor]=b&toString=x'));
    expect(query).toEqual({ constructor: '1', toString: 'x', filter: { constructor: ['a', 'b'] } });
    expect(failure(() => parseQuery(new URLSearchParams('__proto__=1'))).code).toBe('validation_failed');
    expect(failure(() => parseQuery(new URLSearchParams('filter[__proto__]=1'))).code).toBe('validation_failed');
  });
});
