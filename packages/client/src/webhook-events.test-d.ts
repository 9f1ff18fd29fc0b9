import { describe, expectTypeOf, it } from 'vitest';
import type { ApiKey, Module, Record as ModuleRecord, WebhookEvent, WebhookEventOf, WebhookEventType } from './index.ts';

describe('WebhookEvent', () => {
  it('is the union of every event of the document, discriminated by type', () => {
    expectTypeOf<WebhookEvent['type']>().toEqualTypeOf<WebhookEventType>();
    expectTypeOf<WebhookEventOf<'record.created'>['data']>().toEqualTypeOf<ModuleRecord>();
    expectTypeOf<WebhookEventOf<'module.deleted'>['data']>().toEqualTypeOf<Module>();
    expectTypeOf<WebhookEventOf<'api_key.rotated'>['data']>().toEqualTypeOf<ApiKey>();
    expectTypeOf<WebhookEventOf<'webhook.test'>['data']['webhook_id']>().toEqualTypeOf<string>();
    expectTypeOf<WebhookEvent['id']>().toEqualTypeOf<string>();
  });

  it('narrows on type', () => {
    const handle = (event: WebhookEvent) => {
      if (event.type === 'record.updated') {
        expectTypeOf(event.data).toEqualTypeOf<ModuleRecord>();
        // @ts-expect-error: a record has no name
        event.data.name;
      }
      if (event.type === 'api_key.revoked') {
        // @ts-expect-error: an event never carries a key's secret
        event.data.key;
      }
    };
    expectTypeOf(handle).toBeFunction();
    // @ts-expect-error: no such event type
    expectTypeOf<WebhookEventOf<'record.exploded'>>().toBeNever();
  });
});
