import { createSocket } from 'node:dgram';
import { answerQuery, type DnsAnswer } from '../../shared/dns-wire.js';

/** A DNS server on loopback answering from a map tests change as they go. */
export interface TxtDnsServer {
  /** `127.0.0.1:<port>`, as `BERTH_DNS_RESOLVER` takes it. */
  address: string;
  port: number;
  /** The records by lower-case name (no trailing dot); a name not in the map is NXDOMAIN. Change it freely. */
  records: Map<string, DnsAnswer[]>;
  /** Sets the A records of `name`. */
  setA(name: string, ...addresses: string[]): void;
  /** Sets the TXT records of `name`. */
  setTxt(name: string, ...values: string[]): void;
  /** Drops every record of `name` (it becomes NXDOMAIN). */
  remove(name: string): void;
  /** While true, queries are dropped unanswered (a resolver that times out). */
  silent: boolean;
  close(): Promise<void>;
}

/**
 * Starts an authoritative UDP DNS server on 127.0.0.1 (a free port) built on shared/dns-wire.ts: A and TXT answers
 * from {@link TxtDnsServer.records}; a known name asked for another type answers NOERROR with no records (NODATA).
 */
export async function startTxtDnsServer(): Promise<TxtDnsServer> {
  const socket = createSocket('udp4');
  const records = new Map<string, DnsAnswer[]>();
  const server: TxtDnsServer = {
    address: '',
    port: 0,
    records,
    silent: false,
    setA(name, ...addresses) {
      const kept = (records.get(name) ?? []).filter((r) => r.type !== 'A');
      records.set(name, [...kept, ...addresses.map((value) => ({ type: 'A' as const, value, ttl: 1 }))]);
    },
    setTxt(name, ...values) {
      const kept = (records.get(name) ?? []).filter((r) => r.type !== 'TXT');
      records.set(name, [...kept, ...values.map((value) => ({ type: 'TXT' as const, value, ttl: 1 }))]);
    },
    remove(name) {
      records.delete(name);
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (packet, peer) => {
    if (server.silent) return;
    const reply = answerQuery(packet, (name, type) => {
      const known = records.get(name.toLowerCase());
      if (known === undefined) return { rcode: 'NXDOMAIN', answers: [] };
      return { rcode: 'NOERROR', answers: known.filter((r) => r.type === type) };
    });
    if (reply) socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  server.port = socket.address().port;
  server.address = `127.0.0.1:${server.port}`;
  return server;
}
