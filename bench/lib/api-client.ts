/** A small client for the control plane's HTTP API, logged in as the first admin once {@link ApiClient.login} ran. */
export interface ApiClient {
  /** The API's base URL, e.g. `http://127.0.0.1:4100`. */
  url: string;
  /** The session token after `login()`; sent as a bearer token. */
  token(): string;
  /**
   * Calls `method route` with `body` as JSON and returns the parsed answer; throws, quoting the answer, when the
   * status is not `status`.
   */
  expect<T = Record<string, unknown>>(status: number, method: string, route: string, body?: unknown): Promise<T>;
  /** Creates the first admin of a new instance (which creates the default organization) and logs in as it. */
  login(): Promise<void>;
}

/**
 * The bench's twin of `Api` in test/e2e/agent/control-plane.ts, without vitest's `expect`: a failed call throws a
 * plain Error. Every call gives up after 30 s.
 */
export function createApiClient(url: string): ApiClient {
  let token = '';
  const expectStatus = async <T>(status: number, method: string, route: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = {};
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status !== status) throw new Error(`${method} ${route}: expected ${status}, got ${res.status} ${text}`);
    return (text === '' ? {} : JSON.parse(text)) as T;
  };
  return {
    url,
    token: () => token,
    expect: expectStatus,
    async login() {
      const email = 'bench@example.com';
      const admin = await expectStatus<{ generatedPassword: string }>(201, 'POST', '/bootstrap/auth/first-admin', {
        email,
        displayName: 'Bench',
      });
      const session = await expectStatus<{ token: string }>(201, 'POST', '/auth/sessions', {
        email,
        password: admin.generatedPassword,
      });
      token = session.token;
    },
  };
}
