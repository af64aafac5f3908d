import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../../shared/logger.js';
import { type CertificateAuthority, createCertificateAuthority } from '../../shared/pki.js';
import type { KeyRing } from '../secrets/key-ring.js';
import { CertificateAuthorityRecord } from './entity.js';

const agentCaId = 'agent-ca';
const caLifetimeDays = 3650;

/**
 * The CA that signs agent client certificates and the gateway's server certificate: created at the first start
 * and shared by every replica through the database, its private key sealed by the key-encryption key.
 */
export async function loadOrCreateAgentCa(
  em: EntityManager,
  keyRing: KeyRing,
  log: Logger,
): Promise<CertificateAuthority> {
  const existing = await em.findOne(CertificateAuthorityRecord, agentCaId);
  if (existing !== null) return unseal(existing, keyRing);
  const ca = await createCertificateAuthority('Berth agent CA', caLifetimeDays);
  try {
    await em.insert(CertificateAuthorityRecord, {
      id: agentCaId,
      certificatePem: ca.certificatePem,
      sealedPrivateKey: keyRing.seal(ca.privateKeyPem),
      createdAt: new Date(),
    });
    log.info('created the agent certificate authority');
    return ca;
  } catch (error) {
    // Another replica created it first: use theirs.
    if (!(error instanceof UniqueConstraintViolationException)) throw error;
    return unseal(await em.fork().findOneOrFail(CertificateAuthorityRecord, agentCaId), keyRing);
  }
}

function unseal(record: CertificateAuthorityRecord, keyRing: KeyRing): CertificateAuthority {
  try {
    return { certificatePem: record.certificatePem, privateKeyPem: keyRing.open(record.sealedPrivateKey) };
  } catch (error) {
    // The key ring's message names the key id the CA was sealed with and where keys are read from.
    throw new Error(`cannot decrypt the agent CA key: ${(error as Error).message}`);
  }
}
