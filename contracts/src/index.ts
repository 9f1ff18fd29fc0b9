import * as apiKeys from './api-keys.ts';
import * as modules from './modules.ts';
import * as records from './records.ts';
import * as usage from './usage.ts';
import * as webhooks from './webhooks.ts';

export * from './api-keys.ts';
export * from './endpoint.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './modules.ts';
export * from './pagination.ts';
export * from './rate-limits.ts';
export * from './records.ts';
export * from './scopes.ts';
export * from './text.ts';
export * from './usage.ts';
export * from './webhooks.ts';

/** Every endpoint of the API, by operation id. The server and the document are built from this. */
export const endpoints = {
  listModules: modules.listModules,
  createModule: modules.createModule,
  getModule: modules.getModule,
  updateModule: modules.updateModule,
  deleteModule: modules.deleteModule,
  listRecords: records.listRecords,
  createRecord: records.createRecord,
  getRecord: records.getRecord,
  updateRecord: records.updateRecord,
  deleteRecord: records.deleteRecord,
  listApiKeys: apiKeys.listApiKeys,
  createApiKey: apiKeys.createApiKey,
  // Before getApiKey: routes match in this order, and `/api-keys/current` must not be read as a key id.
  getCurrentApiKey: apiKeys.getCurrentApiKey,
  getApiKey: apiKeys.getApiKey,
  updateApiKey: apiKeys.updateApiKey,
  revokeApiKey: apiKeys.revokeApiKey,
  rotateApiKey: apiKeys.rotateApiKey,
  getApiKeyUsage: usage.getApiKeyUsage,
  listAccessLogs: usage.listAccessLogs,
  listWebhooks: webhooks.listWebhooks,
  createWebhook: webhooks.createWebhook,
  getWebhook: webhooks.getWebhook,
  updateWebhook: webhooks.updateWebhook,
  deleteWebhook: webhooks.deleteWebhook,
  rotateWebhookSecret: webhooks.rotateWebhookSecret,
  testWebhook: webhooks.testWebhook,
  listWebhookDeliveries: webhooks.listWebhookDeliveries,
  retryWebhookDelivery: webhooks.retryWebhookDelivery,
} as const;

export type Endpoints = typeof endpoints;
export type OperationId = keyof Endpoints;

/** The path prefix of every route. */
export const API_BASE_PATH = '/api/v1';
