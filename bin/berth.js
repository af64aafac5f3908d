#!/usr/bin/env node
// The JavaScript entry of `berth`. The command itself is bin/berth, a shell launcher that runs this file on the Node.js
// that package.json pins (node-<os>-<arch> under optionalDependencies, installed by npm ci). Berth runs from its
// TypeScript sources; tsx compiles them on load, so `npx berth` works straight after `npm ci` with no build step.
import { readFileSync } from 'node:fs';

const { optionalDependencies = {} } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const pinned = optionalDependencies[`node-${process.platform}-${process.arch}`];
if (pinned === undefined) {
  console.error(`berth pins Node.js for Linux on x64 and arm64 only; this is ${process.platform}-${process.arch}.`);
  process.exit(1);
}
if (process.versions.node !== pinned) {
  console.error(
    `berth runs on the Node.js that package.json pins, v${pinned}; this is ${process.version} (${process.execPath}). ` +
      'Start it as `npx berth` or bin/berth, which find that Node under node_modules (npm ci installs it).',
  );
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import('./cli.ts');
