/**
 * The framework reference: Fastify 5 routing the same path and sending the fixture's bytes, as a
 * well-tuned hand-written REST server would.
 */
import Fastify from 'fastify';
import { announceReady, type Fixture, readControlChannel } from '../lib/protocol.ts';

const fixture = JSON.parse(await readControlChannel(() => process.exit(0))) as Fixture;
const body = Buffer.from(fixture.bodyBase64, 'base64');

// The route has the same shape as the API's, so Fastify pays for a parametric match as Charter does.
const routePath = new URL(fixture.path, 'http://localhost').pathname.replace(/\/modules\/[^/]+\//, '/modules/:module_id/');

const app = Fastify({ logger: false });
app.get(routePath, (_request, reply) => {
  reply.header('content-type', fixture.contentType).send(body);
});

const url = await app.listen({ port: 0, host: '127.0.0.1' });
announceReady({ url });
