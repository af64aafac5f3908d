import { createReadStream, readFileSync, statSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../shared/errors.js';
import { type CertificateAuthority, certificateFingerprint } from '../../shared/pki.js';
import { type AgentBundle, buildAgentBundle, fileSha256 } from './bundle.js';

const installScript = readFileSync(new URL('../../deploy/install.sh', import.meta.url), 'utf8');
// The runtime offered to servers without Node ≥ 20 is the very binary this control plane runs on.
const runtimeKey = `${process.platform}-${process.arch}`;

const Manifest = Type.Object({
  version: Type.String(),
  bundlePath: Type.String(),
  bundleSha256: Type.String(),
  bundleSize: Type.Integer(),
  runtimes: Type.Record(
    Type.String(),
    Type.Object({ path: Type.String(), sha256: Type.String(), size: Type.Integer(), nodeVersion: Type.String() }),
  ),
});
// A file download: documented under its own media type, while errors stay JSON envelopes.
const file = (mediaType: string) => ({
  description: 'File contents.',
  content: { [mediaType]: { schema: { type: 'string', format: 'binary' } } },
});

/**
 * What the install script downloads (all public: the one-time enrollment token is the secret, not the agent's
 * code): the script itself, a manifest with SHA-256 sums, the agent bundle and a Node runtime.
 */
export const agentDistributionRoutes: FastifyPluginAsyncTypebox<{ ca: () => CertificateAuthority }> = async (
  app,
  { ca },
) => {
  const config = { public: true };
  const tags = ['agent'];
  // Built once, on first use, and kept: a second request never rebuilds.
  let bundle: Promise<AgentBundle> | undefined;
  let runtimeSha: Promise<string> | undefined;
  const getBundle = () => {
    bundle ??= buildAgentBundle().catch((error: unknown) => {
      bundle = undefined;
      throw error;
    });
    return bundle;
  };
  const getRuntimeSha = () => {
    runtimeSha ??= fileSha256(process.execPath);
    return runtimeSha;
  };

  app.get(
    '/install.sh',
    {
      config,
      schema: {
        tags,
        summary: 'The agent install script (POSIX sh)',
        response: { 200: file('text/x-shellscript') },
      },
    },
    async (_request, reply) => reply.type('text/x-shellscript; charset=utf-8').send(installScript),
  );

  app.get(
    '/agent/ca',
    {
      config,
      schema: {
        tags,
        summary: "The agent CA's certificate, so an agent can check its pin before using a token",
        response: { 200: Type.Object({ caCertificatePem: Type.String(), caSha256: Type.String() }) },
      },
    },
    async () => ({ caCertificatePem: ca().certificatePem, caSha256: certificateFingerprint(ca().certificatePem) }),
  );

  app.get(
    '/agent/manifest',
    {
      config,
      schema: { tags, summary: 'Version and SHA-256 of the agent bundle and runtimes', response: { 200: Manifest } },
    },
    async () => {
      const [built, sha256] = await Promise.all([getBundle(), getRuntimeSha()]);
      return {
        version: built.version,
        bundlePath: '/agent/bundle.mjs',
        bundleSha256: built.sha256,
        bundleSize: built.code.length,
        runtimes: {
          [runtimeKey]: {
            path: `/agent/node/${runtimeKey}`,
            sha256,
            size: statSync(process.execPath).size,
            nodeVersion: process.version,
          },
        },
      };
    },
  );

  app.get(
    '/agent/bundle.mjs',
    {
      config,
      schema: {
        tags,
        summary: 'The agent as one ES module file for Node ≥ 20',
        response: { 200: file('text/javascript') },
      },
    },
    async (_request, reply) => reply.type('text/javascript; charset=utf-8').send((await getBundle()).code),
  );

  app.get(
    '/agent/node/:platformArch',
    {
      config,
      schema: {
        tags,
        summary: 'The Node.js runtime for servers that have none',
        params: Type.Object({ platformArch: Type.String({ minLength: 1, maxLength: 40 }) }),
        response: { 200: file('application/octet-stream') },
      },
    },
    async (request, reply) => {
      if (request.params.platformArch !== runtimeKey) {
        throw new AppError('not_found', `No Node runtime for ${request.params.platformArch}.`, {
          field: 'platformArch',
          hint: `This control plane offers ${runtimeKey} only; install Node.js 20 or newer on the server instead.`,
        });
      }
      return reply.type('application/octet-stream').send(createReadStream(process.execPath));
    },
  );
};
