import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import {
  type CertificateAuthority,
  certificateFingerprint,
  gatewayServerName,
  issueClientCertificate,
} from '../../../shared/pki.js';
import type { Clock } from '../../../shared/time.js';
import { berthVersion } from '../../../shared/version.js';
import type { Caller } from '../identity/auth-context.js';
import { hashToken } from '../sessions/service.js';
import { AgentEnrollment, Server } from './entity.js';
import type { ServerService } from './service.js';

const tokenPrefix = 'berth_e_';

/** Dependencies of {@link createEnrollmentService}. */
export interface EnrollmentServiceOptions {
  now: Clock;
  servers: Pick<ServerService, 'load'>;
  ca: () => CertificateAuthority;
  enrollmentTtlMinutes: number;
  agentCertificateDays: number;
  /** The API's URL as agents reach it. */
  publicUrl: () => string;
  /** `host:port` of the agent gateway as agents reach it. */
  grpcAddress: () => string;
}

/**
 * Agent credentials: one-time enrollment tokens (`POST /servers/{id}/credentials`) and their exchange for a client
 * certificate (`POST /agent/enrollments`). The agent makes its own key; only a CSR crosses the wire.
 */
export function createEnrollmentService(options: EnrollmentServiceOptions) {
  const { now } = options;

  return {
    /** Issues a new enrollment token; it revokes the server's current agent certificate and any unused token. */
    async issue(em: EntityManager, auth: Caller, serverId: string, kind: string) {
      if (kind !== 'agent-enrollment') {
        throw new AppError('validation_failed', `Credential kind "${kind}" is not supported yet.`, {
          field: 'credential.kind',
          hint: 'Berth reaches servers through its agent: use {"credential": {"kind": "agent-enrollment"}}.',
        });
      }
      const server = await options.servers.load(em, auth, serverId);
      if (server.lifecycleStatus !== 'active') {
        throw new AppError(
          'conflict',
          `Server "${serverId}" is ${server.lifecycleStatus}: it cannot get a credential.`,
        );
      }
      const at = now();
      const token = tokenPrefix + randomBytes(32).toString('base64url');
      const expiresAt = new Date(at.getTime() + options.enrollmentTtlMinutes * 60_000);
      await em.nativeUpdate(
        AgentEnrollment,
        { server: serverId, usedAt: null, supersededAt: null },
        { supersededAt: at },
      );
      const enrollment = em.create(AgentEnrollment, {
        id: newId('enrollment'),
        server: serverId,
        tokenHash: hashToken(token),
        createdAt: at,
        expiresAt,
      });
      server.credentialsRevokedAt = at;
      server.updatedAt = at;
      await em.flush();
      const caSha256 = certificateFingerprint(options.ca().certificatePem);
      const url = options.publicUrl();
      return {
        id: enrollment.id,
        enrollment: {
          token,
          expiresAt: expiresAt.toISOString(),
          installCommand: `curl -fsSL ${url}/install.sh | sh -s -- --url ${url} --token ${token} --ca-sha256 ${caSha256}`,
          caSha256,
        },
      };
    },

    /** Exchanges a valid, unused token and a CSR for a client certificate bound to the token's server. */
    async enroll(em: EntityManager, input: { token: string; csrPem: string; agentVersion: string; hostname: string }) {
      const at = now();
      const hint = 'Ask for a new token with POST /servers/{serverId}/credentials and run the install command again.';
      const enrollment = await em.findOne(
        AgentEnrollment,
        { tokenHash: hashToken(input.token) },
        { populate: ['server'] },
      );
      if (enrollment === null) throw new AppError('unauthenticated', 'The enrollment token is not valid.', { hint });
      if (enrollment.usedAt)
        throw new AppError('unauthenticated', 'The enrollment token has already been used.', { hint });
      if (enrollment.supersededAt) {
        throw new AppError('unauthenticated', 'The enrollment token was replaced by a newer one.', { hint });
      }
      if (enrollment.expiresAt <= at)
        throw new AppError('unauthenticated', 'The enrollment token has expired.', { hint });
      const server = enrollment.server.getEntity();
      if (server.lifecycleStatus !== 'active') {
        throw new AppError('unauthenticated', `The server is ${server.lifecycleStatus}.`, { hint });
      }
      let issued: Awaited<ReturnType<typeof issueClientCertificate>>;
      try {
        issued = await issueClientCertificate(options.ca(), input.csrPem, server.id, options.agentCertificateDays, at);
      } catch (error) {
        throw new AppError('validation_failed', `The certificate request was refused: ${(error as Error).message}.`, {
          field: 'csrPem',
        });
      }
      // Single use even under a race: only the request that flips usedAt from null gets the certificate.
      const claimed = await em.nativeUpdate(AgentEnrollment, { id: enrollment.id, usedAt: null }, { usedAt: at });
      if (claimed !== 1) throw new AppError('unauthenticated', 'The enrollment token has already been used.', { hint });
      await em.nativeUpdate(
        Server,
        { id: server.id },
        { certificateSerial: issued.serialNumber, certificateNotAfter: issued.notAfter, updatedAt: at },
      );
      return {
        serverId: server.id,
        certificatePem: issued.certificatePem,
        caCertificatePem: options.ca().certificatePem,
        notAfter: issued.notAfter.toISOString(),
        grpcUrl: options.grpcAddress(),
        grpcServerName: gatewayServerName,
        controlPlaneVersion: berthVersion,
      };
    },
  };
}

/** The enrollment service's type. */
export type EnrollmentService = ReturnType<typeof createEnrollmentService>;
