import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { berthVersion } from '../../shared/version.js';

/** A built agent bundle: one self-contained ES module file. */
export interface AgentBundle {
  version: string;
  code: Buffer;
  sha256: string;
}

const entry = fileURLToPath(new URL('../../agent/standalone.ts', import.meta.url));

// shared/version.ts reads package.json next to the sources; inside the bundle the version is fixed at build time.
const inlineVersion: Plugin = {
  name: 'berth-inline-version',
  setup(b) {
    b.onLoad({ filter: /shared[\\/]version\.ts$/ }, () => ({
      contents: `export const berthVersion = ${JSON.stringify(berthVersion)};`,
      loader: 'ts',
    }));
  },
};

// docker-modem (under dockerode) loads ssh2 for ssh:// engines, which the agent's DOCKER_HOST parsing rejects.
// ssh2 cannot live in a one-file bundle anyway: it reads __dirname at load time and requires native addons.
const withoutSsh2: Plugin = {
  name: 'berth-without-ssh2',
  setup(b) {
    b.onResolve({ filter: /^ssh2$/ }, () => ({ path: 'ssh2', namespace: 'berth-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'berth-stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

/**
 * Bundles the agent and its dependencies into one ES module for the pinned Node.js 24 (node-runtime.ts), so a server
 * needs no npm and no node_modules: the install script downloads this file and checks its SHA-256.
 */
export async function buildAgentBundle(): Promise<AgentBundle> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    write: false,
    minify: false,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [inlineVersion, withoutSsh2],
    // Some bundled CommonJS dependencies call require() for Node's own modules.
    banner: {
      js: "import { createRequire as __berthRequire } from 'node:module'; const require = __berthRequire(import.meta.url);",
    },
  });
  const code = Buffer.from(result.outputFiles[0]!.contents);
  return { version: berthVersion, code, sha256: createHash('sha256').update(code).digest('hex') };
}

/** SHA-256 of a file, streamed (the Node runtime is ~127 MB). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
