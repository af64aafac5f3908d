import type { ProxyCheckResult } from '../../shared/host-command.js';

/** Reads the edge proxy's admin API; a test passes a stand-in for `fetch`. */
export type ProxyProbe = (url: string, init: { signal: AbortSignal }) => Promise<{ ok: boolean; status: number }>;

/**
 * `proxy.check`: whether Caddy's admin API (on loopback, `BERTH_CADDY_ADMIN_URL`) answers `GET /config/`. An
 * unreachable proxy is a successful command with `reachable: false` and the reason, which the control plane shows.
 */
export async function handleProxyCheck(adminUrl: string, probe: ProxyProbe = fetch): Promise<ProxyCheckResult> {
  const url = `${adminUrl.replace(/\/+$/, '')}/config/`;
  try {
    const response = await probe(url, { signal: AbortSignal.timeout(3000) });
    if (response.ok) return { reachable: true, adminUrl, error: '' };
    return { reachable: false, adminUrl, error: `Caddy's admin API at ${adminUrl} answered HTTP ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    return { reachable: false, adminUrl, error: `no Caddy admin API answers at ${adminUrl} (${reason})` };
  }
}
