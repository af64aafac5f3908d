import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, redactQueryCredentials } from './logger.js';

describe('the logger', () => {
  it('masks credentials carried in a query string', () => {
    expect(redactQueryCredentials('/terminal-sessions/tsn-1/attach?access_token=ses_secret&x=1')).toBe(
      '/terminal-sessions/tsn-1/attach?access_token=****&x=1',
    );
    expect(redactQueryCredentials('/a?token=abc')).toBe('/a?token=****');
    expect(redactQueryCredentials('/projects?limit=5')).toBe('/projects?limit=5');
  });

  it("never writes a WebSocket's query token into fastify's request log", async () => {
    let written = '';
    const destination = new Writable({
      write(chunk, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const log = createLogger({ level: 'info', name: 'test', destination });
    const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
    app.get('/attach', async () => ({ ok: true }));
    await app.inject({ method: 'GET', url: '/attach?access_token=ses_supersecret' });
    await app.close();
    expect(written).toContain('"url":"/attach?access_token=****"');
    expect(written).not.toContain('supersecret');
  });
});
