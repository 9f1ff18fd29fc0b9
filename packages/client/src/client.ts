import createClient, { type Client, type FetchOptions, type FetchResponse, type HeadersOptions, mergeHeaders } from 'openapi-fetch';
import type { ErrorResponse, ResponseObjectMap, SuccessResponse } from 'openapi-typescript-helpers';
import { errorFromResponse, isErrorEnvelope } from './errors.ts';
import type { paths as CharterPaths } from './generated/schema.ts';
import { IDEMPOTENT_METHODS, newIdempotencyKey } from './idempotency.ts';
import { type ListPage, Paginator } from './pagination.ts';
import { RateLimitGate } from './rate-limit.ts';
import { createRetryFetch, type FetchLike, type RetryFetchOptions, type RetryOptions } from './retry.ts';

/** The HTTP methods the API uses. */
export type HttpMethod = 'get' | 'post' | 'patch' | 'delete';
type MediaType = `${string}/${string}`;
/** The empty object type, `{}`. */
type Empty = Record<never, never>;

/** The paths of `Paths` that have method `M`. */
export type PathsWithMethod<Paths, M extends HttpMethod> = {
  [P in keyof Paths]: Paths[P] extends { [K in M]: unknown } ? P : never;
}[keyof Paths];

/** The operation object of `M` on path `P`. */
export type OperationOf<Paths, P, M extends HttpMethod> = P extends keyof Paths
  ? Paths[P] extends { [K in M]: infer Op extends Record<string | number, any> }
    ? Op
    : never
  : never;

/** Options of one call, on top of openapi-fetch's `params`, `body`, `headers`, `signal`… */
export interface CallOptions extends Pick<RetryOptions, 'maxRetries' | 'timeoutMs' | 'attemptTimeoutMs'> {
  /**
   * `Idempotency-Key` for this POST, PATCH or DELETE; an `Idempotency-Key` header works too. Pass
   * one you stored to retry a call safely after a restart.
   * @default a new UUID per call, kept across its retries
   */
  idempotencyKey?: string;
}

/**
 * The second argument of a call: openapi-fetch's options, typed from the operation, plus {@link CallOptions}.
 * Not generic in itself, so TypeScript checks it as written: an unknown query parameter or a
 * misspelled body field is a compile error even beside correct ones. (`parseAs` is left out: the API speaks JSON.)
 */
export type CallInit<Op> = Omit<FetchOptions<Op>, 'parseAs' | 'fetch'> & CallOptions;

type RequiredKeysOf<T> = { [K in keyof T]-?: Empty extends Pick<T, K> ? never : K }[keyof T];
/** The init argument, optional when the operation needs no params or body. */
export type CallArgs<Op> = RequiredKeysOf<CallInit<Op>> extends never ? [init?: CallInit<Op>] : [init: CallInit<Op>];

/**
 * A success or error body as the document names it. openapi-fetch's own result maps every body
 * through `Readable<…>` (for readOnly/writeOnly markers, which this document does not use), which
 * would show `Module` as its expanded properties in editors.
 */
type Responses<Op> = ResponseObjectMap<Op> extends infer R extends Record<string | number, any> ? R : never;
type SuccessData<Op> = [SuccessResponse<Responses<Op>, MediaType>] extends [never] ? undefined : SuccessResponse<Responses<Op>, MediaType>;
type ErrorData<Op> = ErrorResponse<Responses<Op>, MediaType>;

/**
 * The result of a call: openapi-fetch's `{ data, error, response }`, plus the call's idempotency
 * key. With `throwOnError`, only the success branch remains.
 */
export type CharterResult<Op extends Record<string | number, any>, Throw extends boolean = false> = (Throw extends true
  ? { data: SuccessData<Op>; error?: never; response: Response }
  : { data: SuccessData<Op>; error?: never; response: Response } | { data?: never; error: ErrorData<Op>; response: Response }) & {
  /** The `Idempotency-Key` sent (POST, PATCH, DELETE); undefined for GET. */
  idempotencyKey?: string;
};

/** One typed method: `GET`, `POST`, `PATCH` or `DELETE`. */
export type CharterMethod<Paths, M extends HttpMethod, Throw extends boolean> = <P extends PathsWithMethod<Paths, M>>(
  url: P,
  ...init: CallArgs<OperationOf<Paths, P, M>>
) => Promise<CharterResult<OperationOf<Paths, P, M>, Throw>>;

/**
 * `GET path` without `fields`: its query takes no `fields`, and each list item has every property. (The
 * document's list items make all but the identifying property optional, for the calls that pass
 * `fields`; a list item is its resource's full schema otherwise.)
 */
export type GetOf<Paths, P> = WithoutFields<OperationOf<Paths, P, 'get'>>;

type QueryOf<Op> = Op extends { parameters: { query?: infer Query } } ? NonNullable<Query> : never;
type WithoutFields<Op> = 'fields' extends keyof QueryOf<Op>
  ? {
      [K in keyof Op]: K extends 'parameters'
        ? { [L in keyof Op[K]]: L extends 'query' ? Omit<QueryOf<Op>, 'fields'> & { fields?: undefined } : Op[K][L] }
        : K extends 'responses'
          ? { [S in keyof Op[K]]: WithFullItems<Op[K][S]> }
          : Op[K];
    }
  : Op;
type WithFullItems<Response> = Response extends { content: { 'application/json': infer Page } }
  ? { [K in keyof Response]: K extends 'content' ? { 'application/json': FullItemsPage<Page> } : Response[K] }
  : Response;
type FullItemsPage<Page> = Page extends { data: (infer Item)[] }
  ? { [K in keyof Page]: K extends 'data' ? (Item extends Required<Item> ? Item : Required<Item>)[] : Page[K] }
  : Page;

/** `GET`: called without `fields`, list items have every property; with `fields`, only the identifying one is sure. */
export interface CharterGet<Paths, Throw extends boolean> {
  <P extends PathsWithMethod<Paths, 'get'>>(url: P, ...init: CallArgs<GetOf<Paths, P>>): Promise<CharterResult<GetOf<Paths, P>, Throw>>;
  <P extends PathsWithMethod<Paths, 'get'>>(url: P, ...init: CallArgs<OperationOf<Paths, P, 'get'>>): Promise<CharterResult<OperationOf<Paths, P, 'get'>, Throw>>;
}

type PageOfOperation<Op> = Op extends Record<string | number, any> ? NonNullable<FetchResponse<Op, Empty, MediaType>['data']> : never;
/** The success body of `GET path`. */
export type PageOf<Paths, P> = PageOfOperation<OperationOf<Paths, P, 'get'>>;
type PaginatorOf<Page> = Paginator<ItemOf<Page>, Page & ListPage<ItemOf<Page>>>;
/** The GET paths whose success body is a list page (`data`, `next_cursor`, …). */
export type ListPaths<Paths> = {
  [P in PathsWithMethod<Paths, 'get'>]: PageOf<Paths, P> extends ListPage ? P : never;
}[PathsWithMethod<Paths, 'get'>];
type ItemOf<Page> = Page extends ListPage<infer Item> ? Item : never;

/** Options of {@link Charter}. Retry options are defaults for every call; calls can override them. */
export interface CharterOptions<Throw extends boolean = boolean> extends RetryOptions {
  /** The API's base URL, with its version prefix, e.g. `"https://api.example.com/api/v1"`. */
  baseUrl: string;
  /** A secret key (`sk_live_…` or `sk_test_…`), sent as `Authorization: Bearer <key>`. Leave out for the public endpoints. */
  apiKey?: string;
  /** Headers sent with every call. */
  headers?: HeadersOptions;
  /**
   * The fetch each attempt goes through (a test double, a proxy-aware fetch…).
   * @default globalThis.fetch
   */
  fetch?: FetchLike;
  /**
   * Throw the matching {@link CharterError} subclass for every non-2xx response instead of returning
   * `{ error }`; results then always hold `data`.
   * @default false
   */
  throwOnError?: Throw;
}

type AnyInit = CallOptions & { params?: { query?: Record<string, unknown>; header?: Record<string, unknown> }; [key: string]: unknown };
type AnyResult = { data?: unknown; error?: unknown; response: Response };

/**
 * The Charter API client: openapi-fetch's typed `GET`/`POST`/`PATCH`/`DELETE`, with retries,
 * deadlines, idempotency keys, rate-limit waits, pagination and typed errors. Keep one per API key:
 * its rate-limit state is per instance.
 *
 * Calls resolve with `{ data, error, response, idempotencyKey }`. They reject only when there is no
 * response to give: {@link ConnectionError}, {@link TimeoutError}, a {@link RateLimitError} that kept
 * the request from being sent, or the caller's own abort; or, with `throwOnError`, for every error response.
 *
 * @example
 * const charter = new Charter({ baseUrl: 'https://api.example.com/api/v1', apiKey: process.env.CHARTER_API_KEY });
 * const { data, error } = await charter.POST('/modules', { body: { name: 'Contacts' } });
 */
export class Charter<Paths extends object = CharterPaths, Throw extends boolean = false> {
  /** `GET path`. Never retried unsafely: GET has no side effects. */
  readonly GET: CharterGet<Paths, Throw>;
  /** `POST path`, with an `Idempotency-Key` kept across its retries. */
  readonly POST: CharterMethod<Paths, 'post', Throw>;
  /** `PATCH path`, with an `Idempotency-Key` kept across its retries. */
  readonly PATCH: CharterMethod<Paths, 'patch', Throw>;
  /** `DELETE path`, with an `Idempotency-Key` kept across its retries. */
  readonly DELETE: CharterMethod<Paths, 'delete', Throw>;

  readonly #client: Client<Paths>;
  readonly #retry: RetryFetchOptions;
  readonly #fetch: FetchLike;
  readonly #throwOnError: boolean;

  constructor(options: CharterOptions<Throw>) {
    const { baseUrl, apiKey, headers, throwOnError = false, ...retry } = options;
    if (typeof baseUrl !== 'string' || baseUrl === '') {
      throw new TypeError('baseUrl is required, e.g. "https://api.example.com/api/v1".');
    }
    if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey === '')) {
      throw new TypeError('apiKey must be a non-empty string when given.');
    }
    this.#retry = { ...retry, rateLimit: new RateLimitGate() };
    this.#throwOnError = throwOnError;
    this.#fetch = createRetryFetch(this.#retry);
    this.#client = createClient<Paths>({
      baseUrl,
      headers: mergeHeaders({ Accept: 'application/json' }, apiKey ? { Authorization: `Bearer ${apiKey}` } : undefined, headers),
      // Retries live in the fetch, where each attempt can clone the request (the body of a POST is read once).
      fetch: this.#fetch,
      // `sort=-created_at,name`: the document's lists are `style: form, explode: false`.
      querySerializer: { array: { style: 'form', explode: false } },
    });
    this.GET = ((url: string, init?: AnyInit) => this.#call('GET', url, init)) as never;
    this.POST = ((url: string, init?: AnyInit) => this.#call('POST', url, init)) as never;
    this.PATCH = ((url: string, init?: AnyInit) => this.#call('PATCH', url, init)) as never;
    this.DELETE = ((url: string, init?: AnyInit) => this.#call('DELETE', url, init)) as never;
  }

  /**
   * Walks a list: `for await` over its items, `.pages()` over its pages, `.toArray({ max })` to
   * collect them. Follows `next_cursor`; each page is fetched with the same retry rules.
   *
   * @example
   * const modules = await charter.paginate('/modules', { params: { query: { limit: 100 } } }).toArray({ max: 1000 });
   */
  paginate<P extends ListPaths<Paths>>(url: P, ...init: CallArgs<GetOf<Paths, P>>): PaginatorOf<PageOfOperation<GetOf<Paths, P>>>;
  paginate<P extends ListPaths<Paths>>(url: P, ...init: CallArgs<OperationOf<Paths, P, 'get'>>): PaginatorOf<PageOf<Paths, P>>;
  paginate(url: string, ...init: [AnyInit?]): Paginator<unknown> {
    const [options = {}] = init as [AnyInit?];
    return new Paginator(async (query) => {
      const { data, error, response } = await this.#call('GET', url, { ...options, params: { ...options.params, query } });
      if (!response.ok) throw errorFromResponse(response, error);
      return data as ListPage;
    }, options.params?.query);
  }

  async #call(method: string, url: string, init: AnyInit = {}): Promise<AnyResult & { idempotencyKey?: string }> {
    const { idempotencyKey, maxRetries, timeoutMs, attemptTimeoutMs, ...rest } = init;
    let { params } = rest;
    let key: string | undefined;
    if (IDEMPOTENT_METHODS.has(method)) {
      key = idempotencyKey ?? mergeHeaders(rest.headers as HeadersOptions, params?.header as HeadersOptions).get('idempotency-key') ?? newIdempotencyKey();
      // params.header is merged last by openapi-fetch, so the key set here is the one sent.
      params = { ...params, header: { ...params?.header, 'Idempotency-Key': key } };
    }
    const overrides = Object.entries({ maxRetries, timeoutMs, attemptTimeoutMs }).filter(([, value]) => value !== undefined);
    const retrying = overrides.length ? createRetryFetch({ ...this.#retry, ...Object.fromEntries(overrides) }) : this.#fetch;
    // The final response is kept aside, so that a body openapi-fetch cannot parse still yields its status, text and request ID.
    let final: Response | undefined;
    const fetch: FetchLike = async (request, requestInit) => {
      final = await retrying(request, requestInit);
      const copy = final.clone();
      Object.defineProperty(copy, 'url', { value: final.url });
      return copy;
    };
    const request = this.#client.request as (method: string, url: string, init: object) => Promise<AnyResult>;
    let result: AnyResult;
    try {
      result = await request(method, url, { ...rest, params, fetch });
    } catch (error) {
      // A 2xx whose body is not JSON (a proxy's HTML page): openapi-fetch's bare SyntaxError becomes the response's error.
      if (error instanceof SyntaxError && final) throw errorFromResponse(final, await final.text(), key);
      throw error;
    }
    // An error body that is not the API's envelope (a proxy's HTML 502, an empty 404) is not what `error` is typed as.
    if (!result.response.ok && (this.#throwOnError || !isErrorEnvelope(result.error))) throw errorFromResponse(result.response, result.error, key);
    return { ...result, idempotencyKey: key };
  }
}
