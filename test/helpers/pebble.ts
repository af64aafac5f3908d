import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../shared/free-port.js';

const run = promisify(execFile);

/** A private ACME test CA (Debian's `pebble`) for one test file, on free loopback ports. */
export interface PrivatePebble {
  /** The ACME directory, `https://127.0.0.1:N/dir`. */
  directoryUrl: string;
  /** PEM of the self-signed certificate of Pebble's own HTTPS listener: what a client must trust to talk ACME. */
  caRootsFile: string;
  /** The root that signs the certificates Pebble issues (new at every start), from its management port. */
  issuerRootPem(): Promise<string>;
  stop(): Promise<void>;
}

function getTrusting(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, timeout: 2000 }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject)
      .on('timeout', function (this: { destroy(error: Error): void }) {
        this.destroy(new Error(`no answer from ${url}`));
      });
  });
}

async function waitForDirectory(url: string, ca: string, child: ChildProcess, output: () => string): Promise<void> {
  let exited: string | null = null;
  child.once('exit', (code) => {
    exited = String(code);
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await getTrusting(url, ca).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) return;
    if (exited !== null) throw new Error(`pebble exited (${exited}) before it answered:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`pebble did not answer at ${url}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts Debian's `pebble` (apt-get install pebble) with a generated config: its HTTPS listener gets a fresh
 * self-signed certificate for 127.0.0.1 (`caRootsFile`), every authorization is valid without a challenge being
 * checked (`PEBBLE_VA_ALWAYS_VALID`, so no DNS or port 80 is needed) and no nonce is rejected on purpose
 * (`PEBBLE_WFE_NONCEREJECT=0`: clients retry, but a test should not depend on it).
 */
export async function startPebble(): Promise<PrivatePebble> {
  const dir = await mkdtemp('/tmp/berth-pebble-');
  const [port, managementPort] = [await freePort(), await freePort()];
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '30',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  const config = path.join(dir, 'pebble.json');
  await writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: cert,
        privateKey: key,
        // Unused with PEBBLE_VA_ALWAYS_VALID; required by the config format.
        httpPort: 5002,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const env = { ...process.env, PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' };
  const child = spawn('pebble', ['-config', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', resolve);
  });
  if (spawned) throw new Error(`pebble did not start (apt-get install pebble): ${spawned.message}`);
  const caPem = await readFile(cert, 'utf8');
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  await waitForDirectory(directoryUrl, caPem, child, () => output);
  return {
    directoryUrl,
    caRootsFile: cert,
    async issuerRootPem() {
      const { status, body } = await getTrusting(`https://127.0.0.1:${managementPort}/roots/0`, caPem);
      if (status !== 200) throw new Error(`pebble's /roots/0 answered HTTP ${status}`);
      return body;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
