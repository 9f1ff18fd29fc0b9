export {
  type CallArgs,
  type CallInit,
  type CallOptions,
  Charter,
  type CharterGet,
  type CharterMethod,
  type CharterOptions,
  type CharterResult,
  type GetOf,
  type HttpMethod,
  type ListPaths,
  type OperationOf,
  type PageOf,
  type PathsWithMethod,
} from './client.ts';
export {
  AccessDeniedError,
  type ApiErrorCode,
  BadRequestError,
  CannotRetryError,
  CharterError,
  type CharterErrorCode,
  type CharterErrorInit,
  ConflictError,
  ConnectionError,
  type ErrorBody,
  errorFromResponse,
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  ServerError,
  TimeoutError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  unwrap,
  ValidationError,
} from './errors.ts';
export type * from './generated/models.ts';
export type { components, operations, paths } from './generated/schema.ts';
export { type ListPage, Paginator, type ToArrayOptions } from './pagination.ts';
export { RateLimitGate } from './rate-limit.ts';
export { type AttemptEvent, createRetryFetch, type FetchLike, RETRY_DEFAULTS, type RetryEvent, type RetryFetchOptions, type RetryOptions } from './retry.ts';
export type { WebhookEvent, WebhookEventOf } from './webhook-events.ts';
export {
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookIdStore,
  type WebhookRejection,
  WebhookReplayError,
  type WebhookRequestHeaders,
  WebhookSignatureError,
  WebhookTimestampError,
  WebhookVerificationError,
} from './webhooks.ts';
