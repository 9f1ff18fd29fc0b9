export { type App, type AppOptions, createApp, listen, type RunningServer } from './app.ts';
export { API_KEY_PATTERN, generateApiKey, isWellFormedApiKey } from './auth/api-key.ts';
export type { Principal } from './context.ts';
export { ApiError } from './errors.ts';
export { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_EXPOSED_HEADERS, CORS_MAX_AGE_SECONDS, parseCorsOrigins } from './http/cors.ts';
export { type Gatekeeper, postgresGatekeeper } from './limits/gatekeeper.ts';
export { decide, policyState, type RateDecision } from './limits/rate-limit.ts';
export { type AccessLogEntry, AccessLogWriter, MAX_LOGGED_PATH, noRequestLog, type RequestLog } from './logs/access-log.ts';
export {
  DEFAULT_RETENTION,
  MIN_RETENTION,
  type PurgeCounts,
  purgeExpired,
  type Retention,
  resolveRetention,
} from './maintenance/retention.ts';
export { buildOpenApiDocument } from './openapi/document.ts';
export { downgradeToOpenApi30 } from './openapi/downgrade.ts';
export { type AppRouter, buildRouter, handlers as defaultHandlers } from './router.ts';
export { ephemeralWebhookOptions, type WebhookOptions } from './webhooks/options.ts';
export { eventBody, recordEvent } from './webhooks/outbox.ts';
export { checkWebhookUrl, DEFAULT_WEBHOOK_TIMEOUT_MS, type PostWebhookOptions, postWebhook, type WebhookOutcome } from './webhooks/safe-http.ts';
export { DEFAULT_RETRY_POLICY, maxAttempts, type RetryPolicy, retryPolicy } from './webhooks/schedule.ts';
export { generateSealingKey, openSecret, parseSealingKey, sealingKeyFromFile, sealSecret } from './webhooks/secrets.ts';
export { generateWebhookKeyPair, generateWebhookSecret, webhookHeaders, webhookPublicKey } from './webhooks/signing.ts';
export { createWebhookWorker, WEBHOOK_CHANNEL, type WebhookWorker, type WebhookWorkerOptions } from './webhooks/worker.ts';
export { bootstrapWorkspace, createWorkspace, type NewWorkspace } from './workspaces.ts';
