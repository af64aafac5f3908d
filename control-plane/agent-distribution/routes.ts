import { createReadStream, readFileSync, statSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../shared/errors.js';
import { type CertificateAuthority, certificateFingerprint } from '../../shared/pki.js';
import { type AgentBundle, buildAgentBundle, fileSha256 } from './bundle.js';
import { pinnedNodeRuntimes, pinnedNodeVersion } from './node-runtime.js';

const installScript = readFileSync(new URL('../../deploy/install.sh', import.meta.url), 'utf8');

const Manifest = Type.Object({
  version: Type.String(),
  bundlePath: Type.String(),
  bundleSha256: Type.String(),
  bundleSize: Type.Integer(),
  // The one Node.js version agents run on: the server's own Node only when it is exactly this one.
  nodeVersion: Type.String(),
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
 * code): the script itself, a manifest with SHA-256 sums, the agent bundle and the Node runtime package.json pins
 * (for each platform installed here; npm ci installs the control plane's own).
 */
export const agentDistributionRoutes: FastifyPluginAsyncTypebox<{ ca: () => CertificateAuthority }> = async (
  app,
  { ca },
) => {
  const config = { public: true };
  const tags = ['agent'];
  // Built once, on first use, and kept: a second request never rebuilds.
  let bundle: Promise<AgentBundle> | undefined;
  const runtimeShas = new Map<string, Promise<string>>();
  const getBundle = () => {
    bundle ??= buildAgentBundle().catch((error: unknown) => {
      bundle = undefined;
      throw error;
    });
    return bundle;
  };
  const getRuntimeSha = (file: string) => {
    let sha = runtimeShas.get(file);
    if (sha === undefined) {
      sha = fileSha256(file).catch((error: unknown) => {
        runtimeShas.delete(file);
        throw error;
      });
      runtimeShas.set(file, sha);
    }
    return sha;
  };
  const offered = () => [...pinnedNodeRuntimes.keys()].join(', ') || 'none';

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
      const runtimes = [...pinnedNodeRuntimes.values()];
      const [built, ...shas] = await Promise.all([getBundle(), ...runtimes.map((r) => getRuntimeSha(r.path))]);
      return {
        version: built.version,
        bundlePath: '/agent/bundle.mjs',
        bundleSha256: built.sha256,
        bundleSize: built.code.length,
        nodeVersion: pinnedNodeVersion,
        runtimes: Object.fromEntries(
          runtimes.map((runtime, i) => [
            runtime.key,
            {
              path: `/agent/node/${runtime.key}`,
              sha256: shas[i]!,
              size: statSync(runtime.path).size,
              nodeVersion: runtime.nodeVersion,
            },
          ]),
        ),
      };
    },
  );

  app.get(
    '/agent/bundle.mjs',
    {
      config,
      schema: {
        tags,
        summary: 'The agent as one ES module file for the pinned Node.js',
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
        summary: 'The pinned Node.js runtime the agent runs on, for servers without exactly that version',
        params: Type.Object({ platformArch: Type.String({ minLength: 1, maxLength: 40 }) }),
        response: { 200: file('application/octet-stream') },
      },
    },
    async (request, reply) => {
      const runtime = pinnedNodeRuntimes.get(request.params.platformArch);
      if (runtime === undefined) {
        throw new AppError('not_found', `No Node runtime for ${request.params.platformArch}.`, {
          field: 'platformArch',
          hint: `This control plane offers ${offered()}; install Node.js ${pinnedNodeVersion} on the server instead.`,
        });
      }
      return reply.type('application/octet-stream').send(createReadStream(runtime.path));
    },
  );
};
