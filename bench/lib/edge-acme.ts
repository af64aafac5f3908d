import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type EdgeRig, upstreamBody } from './edge-rig.js';
import { round, sleep } from './stats.js';

export interface AcmeSample {
  host: string;
  /** `edge.sync` call → it resolved (Caddy's config read, merged and loaded). */
  syncMs: number;
  /** `edge.sync` call → the first HTTPS answer 200 with the upstream's body, chain verified against Pebble's root. */
  firstAnswerMs: number;
  /** HTTPS attempts until then (failed handshakes while Caddy obtains the certificate included). */
  attempts: number;
  issuer: string;
}

/** One HTTPS GET to 127.0.0.1:port for `host` (SNI and Host), verified against `ca`: the status, body and issuer. */
export function httpsGet(
  port: number,
  host: string,
  ca: string,
): Promise<{ status: number; body: string; issuer: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: '/', servername: host, headers: { host }, ca, agent: false, timeout: 2000 },
      (res) => {
        const cn = (res.socket as TLSSocket).getPeerCertificate().issuer?.CN ?? '';
        const issuer = Array.isArray(cn) ? cn.join(', ') : cn;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, issuer }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/**
 * Adds a `tls: acme` route for `host` to the rig's edge document, syncs it and then tries HTTPS every `pollMs`
 * (verified against Pebble's issuing root `root`) until the upstream answers; throws after 60 s.
 */
export async function measureAcmeHost(
  rig: EdgeRig,
  routeId: string,
  host: string,
  root: string,
  pollMs: number,
): Promise<AcmeSample> {
  rig.addRoute(routeId, host, 'acme');
  const t0 = performance.now();
  await rig.sync();
  const syncMs = performance.now() - t0;
  const deadline = t0 + 60_000;
  let attempts = 0;
  let last = '';
  for (;;) {
    attempts += 1;
    const answer = await httpsGet(rig.httpsPort, host, root).catch((error: Error) => error);
    if (!(answer instanceof Error) && answer.status === 200 && answer.body === upstreamBody) {
      const sample = { host, syncMs: round(syncMs), firstAnswerMs: round(performance.now() - t0), attempts };
      return { ...sample, issuer: answer.issuer };
    }
    last = answer instanceof Error ? answer.message : `${answer.status} ${answer.body.slice(0, 80)}`;
    if (performance.now() > deadline) throw new Error(`${host} did not answer over HTTPS in 60 s (last: ${last})`);
    await sleep(pollMs);
  }
}
