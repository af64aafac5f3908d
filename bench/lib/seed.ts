import { Buffer } from 'node:buffer';
import type { MikroORM } from '@mikro-orm/postgresql';
import { openOrm } from '../../control-plane/db/orm.js';
import { Server } from '../../control-plane/modules/servers/entity.js';
import { loadOrCreateAgentCa } from '../../control-plane/pki/ca-store.js';
import { createKeyRing } from '../../control-plane/secrets/key-ring.js';
import { newId } from '../../shared/ids.js';
import { createLogger } from '../../shared/logger.js';
import {
  type CertificateAuthority,
  createCertificateRequest,
  generateKeyPair,
  issueClientCertificate,
} from '../../shared/pki.js';

/** What one simulated agent needs to dial: its server id and the client key and certificate enrollment gave it. */
export interface AgentIdentity {
  serverId: string;
  keyPem: string;
  certPem: string;
}

/** The bench's view of the control plane's database. */
export interface Seeded {
  orm: MikroORM;
  ca: CertificateAuthority;
  organizationId: string;
  agents: AgentIdentity[];
  certificateMs: number;
  insertMs: number;
}

/** Creates the first admin over HTTP (which creates the default organization); returns the organization id. */
export async function bootstrapOrganization(httpUrl: string): Promise<string> {
  const response = await fetch(`${httpUrl}/bootstrap/auth/first-admin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bench@example.com', displayName: 'Bench' }),
  });
  if (response.status !== 201) throw new Error(`first-admin failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { organizationId?: unknown };
  if (typeof body.organizationId !== 'string') throw new Error('first-admin answered without an organizationId');
  return body.organizationId;
}

/**
 * Opens the same database as the control plane, unseals its agent CA with the shared key, issues `count` client
 * certificates (one reused key pair and CSR: the CA names the certificate after the server id, whatever the CSR
 * asked for) and inserts the matching active server rows in batches.
 */
export async function seedServers(
  databaseUrl: string,
  secretKey: string,
  organizationId: string,
  count: number,
): Promise<Seeded> {
  const log = createLogger({ level: 'warn', name: 'bench' });
  const orm = await openOrm(databaseUrl);
  const ca = await loadOrCreateAgentCa(orm.em.fork(), createKeyRing(Buffer.from(secretKey, 'base64')), log);
  const { keys, privateKeyPem } = await generateKeyPair();
  const csr = await createCertificateRequest(keys, 'bench');

  let started = Date.now();
  const agents: AgentIdentity[] = [];
  const issued: Array<{ serial: string; notAfter: Date }> = [];
  const batch = 100;
  for (let offset = 0; offset < count; offset += batch) {
    const ids = Array.from({ length: Math.min(batch, count - offset) }, () => newId('server'));
    const certificates = await Promise.all(ids.map((id) => issueClientCertificate(ca, csr, id, 7)));
    ids.forEach((serverId, index) => {
      const certificate = certificates[index]!;
      agents.push({ serverId, keyPem: privateKeyPem, certPem: certificate.certificatePem });
      issued.push({ serial: certificate.serialNumber, notAfter: certificate.notAfter });
    });
  }
  const certificateMs = Date.now() - started;

  started = Date.now();
  const now = new Date();
  for (let offset = 0; offset < count; offset += 1000) {
    const rows = agents.slice(offset, offset + 1000).map(({ serverId }, index) => ({
      id: serverId,
      organization: organizationId,
      name: serverId,
      nameKey: serverId,
      host: '192.0.2.10',
      providerKey: 'generic',
      targetKind: 'single-server',
      proxyKind: 'caddy',
      lifecycleStatus: 'active' as const,
      connectionState: 'never-connected' as const,
      certificateSerial: issued[offset + index]!.serial,
      certificateNotAfter: issued[offset + index]!.notAfter,
      createdAt: now,
      updatedAt: now,
    }));
    await orm.em.fork().insertMany(Server, rows);
  }
  return { orm, ca, organizationId, agents, certificateMs, insertMs: Date.now() - started };
}

/** Servers by connection state, straight from the table. */
export async function connectionStates(orm: MikroORM): Promise<Record<string, number>> {
  const rows: Array<{ connection_state: string; count: string }> = await orm.em
    .fork()
    .getKnex()('servers')
    .select('connection_state')
    .count('* as count')
    .groupBy('connection_state');
  return Object.fromEntries(rows.map((row) => [row.connection_state, Number(row.count)]));
}
