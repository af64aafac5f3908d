import { readFileSync } from 'node:fs';

/** Berth's version, from package.json (one source of truth for the API, the agent and the install script). */
export const berthVersion: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
