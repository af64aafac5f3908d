import { describe, expect, it } from 'vitest';
import { parseLogBuffer } from './log-lines.js';

function frame(stream: 1 | 2, payload: Buffer | string): Buffer {
  const bytes = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(bytes.length, 4);
  return Buffer.concat([header, bytes]);
}

describe('parseLogBuffer', () => {
  it('splits multiplexed frames into stdout and stderr lines with their timestamps', () => {
    const body = Buffer.concat([
      frame(1, '2024-05-01T10:00:00.123456789Z listening on :8080\n'),
      frame(2, '2024-05-01T10:00:01.000000001Z warning: low memory\r\n'),
    ]);

    expect(parseLogBuffer(body)).toEqual([
      { stream: 'stdout', line: 'listening on :8080', at: '2024-05-01T10:00:00.123Z' },
      { stream: 'stderr', line: 'warning: low memory', at: '2024-05-01T10:00:01.000Z' },
    ]);
  });

  it('joins a multi-byte character cut across two frames and keeps a last line without a newline', () => {
    const text = Buffer.from('2024-05-01T10:00:00Z café\n2024-05-01T10:00:02Z end', 'utf8');
    const cut = text.indexOf(Buffer.from('é')) + 1;
    const body = Buffer.concat([frame(1, text.subarray(0, cut)), frame(1, text.subarray(cut))]);

    expect(parseLogBuffer(body).map((l) => l.line)).toEqual(['café', 'end']);
  });

  it("reads a TTY container's unframed body as stdout", () => {
    expect(parseLogBuffer(Buffer.from('2024-05-01T10:00:00Z hello\n'))).toEqual([
      { stream: 'stdout', line: 'hello', at: '2024-05-01T10:00:00.000Z' },
    ]);
  });
});
