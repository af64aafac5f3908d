import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { HealthPolicy } from './spec.js';

/** The result of one health check. */
export interface CheckResult {
  ok: boolean;
  /** What happened, for the deployment log: `GET /healthz answered 200`, `connection refused`, … */
  detail: string;
}

/** Options shared by both checks. */
export interface CheckTarget {
  /** The container port, named in details. */
  containerPort: number;
  /** Where that port is published on 127.0.0.1. */
  hostPort: number;
  timeoutMs: number;
  /** Aborting ends the check at once with a failed result. */
  signal: AbortSignal;
}

/**
 * Runs one health check of `health` against `target`: the collaborator verification and inspection call, so tests
 * can script health outcomes without a listening port. {@link runHealthCheck} is the real one.
 */
export type HealthProbe = (health: HealthPolicy, target: CheckTarget) => Promise<CheckResult>;

/** The real probe: the policy's HTTP check, or a TCP connect; an HTTP policy without settings fails. */
export const runHealthCheck: HealthProbe = (health, target) => {
  if (health.type === 'http') {
    if (health.http === null) return Promise.resolve({ ok: false, detail: 'the HTTP check has no settings' });
    return runHttpCheck(health.http, target);
  }
  return runTcpCheck(target);
};

// Enough of a body to find an expected text in; a health endpoint answering megabytes is not read to the end.
const maxBodyBytes = 64 * 1024;
// The loopback proxy in front of a published port accepts every connection and closes it right away when
// nothing listens inside the container, so an accepted connection proves nothing until it has survived this long.
const tcpSettleMs = 200;

/** One HTTP(S) request to `127.0.0.1:<hostPort><path>`; passes on the expected status (and text, when given). */
export function runHttpCheck(check: NonNullable<HealthPolicy['http']>, target: CheckTarget): Promise<CheckResult> {
  const request = `${check.method} ${check.path}`;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      target.signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(result);
    };
    const headers = check.host === null ? {} : { host: check.host };
    const common = {
      host: '127.0.0.1',
      port: target.hostPort,
      path: check.path,
      method: check.method,
      headers,
      agent: false as const,
    };
    const req =
      check.scheme === 'https'
        ? // Apps behind Berth's proxy commonly serve self-signed certificates on their own port: the check asks
          // whether the app answers, not whether its certificate is trusted.
          https.request({ ...common, rejectUnauthorized: false, servername: check.host ?? undefined })
        : http.request(common);
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const judge = () => {
        const status = response.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8');
        if (status !== check.expectedStatusCode) {
          return finish({ ok: false, detail: `${request} answered ${status}, expected ${check.expectedStatusCode}` });
        }
        if (check.expectedResponseText !== null && !body.includes(check.expectedResponseText)) {
          return finish({ ok: false, detail: `${request} answered ${status} without "${check.expectedResponseText}"` });
        }
        finish({ ok: true, detail: `${request} answered ${status}` });
      };
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= maxBodyBytes) judge();
      });
      response.on('end', judge);
      response.on('error', (error) => finish({ ok: false, detail: describeSocketError(error, target) }));
    });
    req.on('error', (error) => finish({ ok: false, detail: describeSocketError(error, target) }));
    const timer = setTimeout(
      () => finish({ ok: false, detail: `${request} timed out after ${formatSeconds(target.timeoutMs)}` }),
      target.timeoutMs,
    );
    const onAbort = () => finish({ ok: false, detail: 'canceled' });
    if (target.signal.aborted) onAbort();
    else target.signal.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}

/**
 * Opens a TCP connection to `127.0.0.1:<hostPort>`. Passes when the peer sends data or keeps the connection
 * open for a moment; a connection closed at once counts as nothing listening (see `tcpSettleMs`).
 */
export function runTcpCheck(target: CheckTarget): Promise<CheckResult> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = net.connect({ host: '127.0.0.1', port: target.hostPort });
    const finish = (result: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(settle);
      target.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    let settle: NodeJS.Timeout | undefined;
    const passed = { ok: true, detail: `port ${target.containerPort} accepted a connection` };
    socket.on('connect', () => {
      settle = setTimeout(() => finish(passed), Math.min(tcpSettleMs, target.timeoutMs));
    });
    socket.on('data', () => finish(passed));
    socket.on('end', () => finish({ ok: false, detail: closedAtOnce(target) }));
    socket.on('close', () => finish({ ok: false, detail: closedAtOnce(target) }));
    socket.on('error', (error) => finish({ ok: false, detail: describeSocketError(error, target) }));
    const timer = setTimeout(
      () => finish({ ok: false, detail: `connecting timed out after ${formatSeconds(target.timeoutMs)}` }),
      target.timeoutMs,
    );
    const onAbort = () => finish({ ok: false, detail: 'canceled' });
    if (target.signal.aborted) onAbort();
    else target.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function closedAtOnce(target: CheckTarget): string {
  return `connection closed at once (is anything listening on port ${target.containerPort}?)`;
}

function describeSocketError(error: Error, target: CheckTarget): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  // What the loopback proxy's close looks like to an HTTP client.
  if (code === 'ECONNRESET' || error.message === 'socket hang up') return closedAtOnce(target);
  return error.message;
}

/** `2 s`, `1.5 s`. */
function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))} s`;
}
