import { expect } from 'vitest';
import { type BerthProcess, startBerth } from '../helpers/berth-process.js';

/** `server.agent` of `GET /servers/{id}`. */
export interface AgentView {
  connectionState: 'never-connected' | 'connected' | 'unreachable';
  lastSeenAt: string | null;
  connectedSince: string | null;
  agentVersion: string | null;
  dockerVersion: string | null;
  dockerReachable: boolean | null;
  host: Record<string, unknown> | null;
}

/** One check of `POST /servers/{id}/connectivity-tests`. */
export interface Check {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  message: string;
  metadata: Record<string, string>;
}

/** What `POST /servers/{id}/connectivity-tests` answers. */
export interface ConnectivityResult {
  status: string;
  checks: Check[];
}

/** What `POST /servers/{id}/credentials` answers, inside `enrollment`. */
export interface EnrollmentIssued {
  token: string;
  installCommand: string;
  caSha256: string;
}

/** A started control plane and where its agent gateway listens. */
export interface ControlPlane {
  berth: BerthProcess;
  url: string;
  /** `host:port` from the `control plane ready` log line. */
  grpcAddress: string;
}

/**
 * Starts `berth control-plane` (the production command) on `dataDir`; `env` adds settings such as the ports.
 * Without `BERTH_DATABASE_URL` it runs its embedded PostgreSQL, as a newcomer's would.
 */
export async function startControlPlane(dataDir: string, env: Record<string, string> = {}): Promise<ControlPlane> {
  const berth = await startBerth({ command: 'control-plane', dataDir, env: { BERTH_GRPC_PORT: '0', ...env } });
  const ready = berth.logs().find((line) => line['msg'] === 'control plane ready');
  const grpcAddress = ready?.['grpcAddress'];
  if (typeof grpcAddress !== 'string') throw new Error(`no grpcAddress in the ready line\n${berth.stdout()}`);
  return { berth, url: berth.url, grpcAddress };
}

/** A port that was free on 127.0.0.1 a moment ago (for settings that must survive a restart). */

/** A small HTTP client for the API, logged in once an admin exists. */
export class Api {
  token = '';

  constructor(public url: string) {}

  async call<T = Record<string, unknown>>(
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.url}${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  /** Calls and checks the status, with the body in the failure message. */
  async expect<T = Record<string, unknown>>(status: number, method: string, route: string, body?: unknown): Promise<T> {
    const res = await this.call<T>(method, route, body);
    expect(res.status, `${method} ${route}: ${JSON.stringify(res.body)}`).toBe(status);
    return res.body;
  }

  /** Creates the first admin of a new instance and logs in as it. */
  async bootstrap(): Promise<void> {
    const email = 'admin@example.com';
    const admin = await this.expect<{ generatedPassword: string }>(201, 'POST', '/bootstrap/auth/first-admin', {
      email,
      displayName: 'Admin',
    });
    const session = await this.expect<{ token: string }>(201, 'POST', '/auth/sessions', {
      email,
      password: admin.generatedPassword,
    });
    this.token = session.token;
  }

  /** Registers a server and returns its id. */
  async createServer(name: string): Promise<string> {
    const body = { name, host: '127.0.0.1', providerKey: 'generic-ssh' };
    return (await this.expect<{ id: string }>(201, 'POST', '/servers', body)).id;
  }

  /** A one-time enrollment token for the server's agent (this revokes the agent it had). */
  async enrollment(serverId: string): Promise<EnrollmentIssued> {
    const body = { credential: { kind: 'agent-enrollment' } };
    const issued = await this.expect<{ enrollment: EnrollmentIssued }>(
      201,
      'POST',
      `/servers/${serverId}/credentials`,
      body,
    );
    return issued.enrollment;
  }

  async agent(serverId: string): Promise<AgentView> {
    return (await this.expect<{ server: { agent: AgentView } }>(200, 'GET', `/servers/${serverId}`)).server.agent;
  }

  async connectivity(serverId: string): Promise<ConnectivityResult> {
    return this.expect<ConnectivityResult>(200, 'POST', `/servers/${serverId}/connectivity-tests`, {});
  }
}

/** The check named `name`; fails the test when there is none. */
export function check(result: ConnectivityResult, name: string): Check {
  const found = result.checks.find((c) => c.name === name);
  expect(found, `no ${name} check in ${JSON.stringify(result)}`).toBeDefined();
  return found!;
}

/** The `agent event` lines the gateway logged for `kind` (it logs every event an agent sends). */
export function gatewayEvents(berth: BerthProcess, kind: string): Array<Record<string, unknown>> {
  return berth.logs().filter((line) => line['msg'] === 'agent event' && line['kind'] === kind);
}
