/** The `proxy.check` result. */
export interface ProxyCheckResult {
  reachable: boolean;
  error: string;
}

/**
 * `proxy.check`: whether the edge proxy's admin API answers. No edge proxy is managed yet, so the answer is a
 * successful "not reachable" with the reason, which lets the control plane show it instead of a failure.
 */
export function handleProxyCheck(): ProxyCheckResult {
  return { reachable: false, error: 'no edge proxy configured yet' };
}
