import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { startUpstreamResolver, type UpstreamResolver } from './resolver.js';

const log = createLogger({ level: 'silent', name: 'test' });
let dir: string;
let file: string;
const started: UpstreamResolver[] = [];

async function start(port = 0): Promise<UpstreamResolver> {
  const resolver = await startUpstreamResolver({ host: '127.0.0.1', port, file, log });
  started.push(resolver);
  return resolver;
}

/** A stub resolver asking only `resolver`, once, with a short timeout. */
function client(resolver: UpstreamResolver): Resolver {
  const dns = new Resolver({ timeout: 500, tries: 1 });
  dns.setServers([resolver.address]);
  return dns;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'berth-resolver-'));
  file = path.join(dir, 'edge-resolver.json');
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('the upstream resolver', () => {
  it('answers A for a known resource with TTL 1, nothing for AAAA, NXDOMAIN in the zone and REFUSED outside', async () => {
    const resolver = await start();
    expect(resolver.address).toMatch(/^127\.0\.0\.1:\d+$/);
    resolver.set('res-web', '172.18.0.5');
    const dns = client(resolver);
    expect(await dns.resolve4('res-web.berth.internal', { ttl: true })).toEqual([{ address: '172.18.0.5', ttl: 1 }]);
    expect(await dns.resolve4('RES-WEB.berth.INTERNAL')).toEqual(['172.18.0.5']);
    await expect(dns.resolve6('res-web.berth.internal')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(dns.resolve4('res-gone.berth.internal')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(dns.resolve4('example.com')).rejects.toMatchObject({ code: 'EREFUSED' });
  });

  it('changes an answer at once and removes a record with null', async () => {
    const resolver = await start();
    const dns = client(resolver);
    resolver.set('res-web', '172.18.0.5');
    resolver.set('res-web', '172.18.0.6');
    expect(await dns.resolve4('res-web.berth.internal')).toEqual(['172.18.0.6']);
    expect(resolver.get('res-web')).toBe('172.18.0.6');
    resolver.set('res-web', null);
    expect(resolver.get('res-web')).toBeNull();
    await expect(dns.resolve4('res-web.berth.internal')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('refuses ids that are no DNS label and addresses that are not IPv4', async () => {
    const resolver = await start();
    expect(() => resolver.set('Res_Web', '172.18.0.5')).toThrow(RangeError);
    expect(() => resolver.set('res-web', 'fe80::1')).toThrow(RangeError);
    expect(resolver.all()).toEqual({});
  });

  it('comes back after a restart on the same port with the same records', async () => {
    const first = await start();
    first.set('res-a', '172.18.0.2');
    first.set('res-b', '172.18.0.3');
    await first.close();
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      port: Number(first.address.split(':')[1]),
      records: { 'res-a': '172.18.0.2', 'res-b': '172.18.0.3' },
    });
    const again = await start();
    expect(again.address).toBe(first.address);
    expect(again.all()).toEqual({ 'res-a': '172.18.0.2', 'res-b': '172.18.0.3' });
    expect(await client(again).resolve4('res-b.berth.internal')).toEqual(['172.18.0.3']);
  });

  it('takes another port when the saved one is taken, and saves it', async () => {
    const first = await start();
    await first.close();
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(Number(first.address.split(':')[1]), '127.0.0.1', resolve));
    try {
      const again = await start();
      expect(again.address).not.toBe(first.address);
      await again.flush();
      expect(JSON.parse(await readFile(file, 'utf8')).port).toBe(Number(again.address.split(':')[1]));
    } finally {
      squatter.close();
    }
  });

  it('fails when an explicitly configured port is taken', async () => {
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(0, '127.0.0.1', resolve));
    try {
      await expect(start(squatter.address().port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      squatter.close();
    }
  });

  it('drops what is not a DNS query and keeps answering', async () => {
    const resolver = await start();
    resolver.set('res-web', '172.18.0.5');
    const junk = dgram.createSocket('udp4');
    const [host, port] = resolver.address.split(':');
    await new Promise<void>((resolve) => junk.send(Buffer.from('hi'), Number(port), host, () => resolve()));
    junk.close();
    expect(await client(resolver).resolve4('res-web.berth.internal')).toEqual(['172.18.0.5']);
  });
});
