import type { webhooks } from './generated/schema.ts';

/**
 * Every event a webhook endpoint can receive, as one union discriminated by `type`: generated from
 * the `webhooks` section of the API's document, so it follows the API's own schemas. Narrow on
 * `type` to get the resource in `data`:
 *
 * ```ts
 * const event = await verifyWebhook<WebhookEvent>(body, headers, secret);
 * if (event.type === 'record.created') console.log(event.data.module_id);
 * ```
 */
export type WebhookEvent = {
  [Type in keyof webhooks]: NonNullable<webhooks[Type]['post']>['requestBody'] extends { content: { 'application/json': infer Event } } ? Event : never;
}[keyof webhooks];

/** The event of one type, e.g. `WebhookEventOf<'record.created'>`. */
export type WebhookEventOf<Type extends WebhookEvent['type']> = Extract<WebhookEvent, { type: Type }>;
