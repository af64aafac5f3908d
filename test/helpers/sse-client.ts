/** One Server-Sent Events frame. */
export interface SseFrame {
  id: string | undefined;
  data: unknown;
  /** When the frame arrived (Date.now()). */
  receivedAt: number;
}

/** A live SSE connection whose frames collect in {@link SseClient.frames}. */
export interface SseClient {
  frames: SseFrame[];
  status: number;
  /** Resolves with the first frame (from `from` on) that matches, or rejects after `timeoutMs`. */
  waitFor(match: (frame: SseFrame) => boolean, timeoutMs: number, from?: number): Promise<SseFrame>;
  close(): void;
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
}

/** Opens `url` as an event stream (with the bearer `token`, and `Last-Event-ID` when given). */
export async function openSse(url: string, token: string, lastEventId?: string): Promise<SseClient> {
  const abort = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
  const res = await fetch(url, { headers, signal: abort.signal });
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  const decoder = new TextDecoder();
  let buffered = '';
  const ended = (async () => {
    if (!res.body) return;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let end = buffered.indexOf('\n\n');
        while (end !== -1) {
          const raw = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          end = buffered.indexOf('\n\n');
          const id = /^id: (.*)$/m.exec(raw)?.[1];
          const data = /^data: (.*)$/m.exec(raw)?.[1];
          if (data !== undefined) frames.push({ id, data: JSON.parse(data), receivedAt: Date.now() });
        }
        for (const wake of waiters) wake();
      }
    } catch {
      // Aborted by close().
    }
  })();
  return {
    frames,
    status: res.status,
    ended,
    close: () => abort.abort(),
    waitFor(match, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.slice(from).find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching SSE frame within ${timeoutMs} ms (${frames.length} frames)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
