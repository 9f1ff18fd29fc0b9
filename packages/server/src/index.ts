export { type App, type AppOptions, createApp, listen, type RunningServer } from './app.ts';
export { API_KEY_PATTERN, generateApiKey, isWellFormedApiKey } from './auth/api-key.ts';
export { ApiError } from './errors.ts';
export { buildOpenApiDocument } from './openapi/document.ts';
export { type AppRouter, buildRouter } from './router.ts';
export { createWorkspace, type NewWorkspace } from './workspaces.ts';
