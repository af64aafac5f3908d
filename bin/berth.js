#!/usr/bin/env node
// The `berth` entry program. Berth runs from its TypeScript sources; tsx compiles them on load, so `npx berth`
// works straight after `npm ci` with no build step.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`berth needs Node.js 20.19 or newer; this is ${process.version}.`);
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import('./cli.ts');
