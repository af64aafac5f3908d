import { describe, expect, it } from 'vitest';
import { answerQuery, buildQuery, type DnsLookup, parseResponse } from './dns-wire.js';

const zone: DnsLookup = (name, type) => {
  if (name === 'web.berth.internal') {
    return { rcode: 'NOERROR', answers: type === 'A' ? [{ type: 'A', value: '172.18.0.5', ttl: 1 }] : [] };
  }
  if (name === '_acme-challenge.example.com' && type === 'TXT') {
    return { rcode: 'NOERROR', answers: [{ type: 'TXT', value: 'token-value', ttl: 60 }] };
  }
  return { rcode: name.endsWith('.berth.internal') ? 'NXDOMAIN' : 'REFUSED', answers: [] };
};

function answer(query: Buffer, lookup: DnsLookup = zone) {
  const response = answerQuery(query, lookup);
  expect(response).not.toBeNull();
  return parseResponse(response!);
}

describe('answerQuery', () => {
  it('answers an A question with the question echoed, AA set and RD copied', () => {
    const response = answer(buildQuery('web.berth.internal', 'A', 0x1234));
    expect(response).toEqual({
      id: 0x1234,
      authoritative: true,
      recursionDesired: true,
      truncated: false,
      rcode: 0,
      question: { name: 'web.berth.internal', type: 1 },
      answers: [{ type: 1, ttl: 1, value: '172.18.0.5' }],
    });
  });

  it('matches names without regard to case and echoes the question as it was asked', () => {
    const query = buildQuery('WEB.Berth.Internal', 'A');
    const response = answerQuery(query, zone)!;
    expect(parseResponse(response).answers).toEqual([{ type: 1, ttl: 1, value: '172.18.0.5' }]);
    expect(response.subarray(12, query.length).toString('latin1')).toContain('WEB');
  });

  it('gives NOERROR without answers for another type of a known name, NXDOMAIN and REFUSED as the lookup says', () => {
    expect(answer(buildQuery('web.berth.internal', 'AAAA'))).toMatchObject({ rcode: 0, answers: [] });
    expect(answer(buildQuery('gone.berth.internal', 'A'))).toMatchObject({ rcode: 3, answers: [] });
    expect(answer(buildQuery('example.org', 'A'))).toMatchObject({ rcode: 5, answers: [], authoritative: true });
  });

  it('answers TXT, splitting long text into 255-byte strings', () => {
    expect(answer(buildQuery('_acme-challenge.example.com', 'TXT')).answers).toEqual([
      { type: 16, ttl: 60, value: 'token-value' },
    ]);
    const long = 'x'.repeat(300);
    const response = answer(buildQuery('t.test', 'TXT'), () => ({
      rcode: 'NOERROR',
      answers: [{ type: 'TXT', value: long, ttl: 5 }],
    }));
    expect(response.answers).toEqual([{ type: 16, ttl: 5, value: long }]);
  });

  it('passes the type on by name, and as TYPE<n> when it has none here', () => {
    const seen: string[] = [];
    const query = buildQuery('web.berth.internal', 'A');
    query.writeUInt16BE(99, query.length - 4);
    answerQuery(query, (name, type) => {
      seen.push(`${name} ${type}`);
      return { rcode: 'NOERROR', answers: [] };
    });
    expect(seen).toEqual(['web.berth.internal TYPE99']);
  });

  it('ignores an OPT record after the question (EDNS)', () => {
    const query = buildQuery('web.berth.internal', 'A');
    query.writeUInt16BE(1, 10);
    const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    expect(answer(Buffer.concat([query, opt])).answers).toHaveLength(1);
  });

  it('follows backward compression pointers and refuses a pointer loop', () => {
    // The question's name: the label "web", then a pointer back to offset 3 (the flags' low byte, 0: the root).
    const query = Buffer.concat([buildQuery('web', 'A').subarray(0, 16), Buffer.from([0xc0, 3, 0, 1, 0, 1])]);
    const seen: string[] = [];
    const response = answerQuery(query, (name) => {
      seen.push(name);
      return { rcode: 'NXDOMAIN', answers: [] };
    });
    expect(seen).toEqual(['web']);
    expect(parseResponse(response!).rcode).toBe(3);
    const looped = buildQuery('abc', 'A');
    looped.writeUInt16BE(0xc00c, 16);
    expect(parseResponse(answerQuery(looped, zone)!).rcode).toBe(1);
  });

  it('answers FORMERR to a query without exactly one question or with a cut-off question', () => {
    const none = buildQuery('web.berth.internal', 'A');
    none.writeUInt16BE(0, 4);
    expect(answer(none)).toMatchObject({ rcode: 1, question: null });
    const cut = buildQuery('web.berth.internal', 'A').subarray(0, 20);
    expect(answer(cut)).toMatchObject({ rcode: 1 });
  });

  it('answers NOTIMP to another opcode and REFUSED to another class', () => {
    const status = buildQuery('web.berth.internal', 'A');
    status[2] = status[2]! | (2 << 3);
    expect(answer(status).rcode).toBe(4);
    const chaos = buildQuery('web.berth.internal', 'A');
    chaos.writeUInt16BE(3, chaos.length - 2);
    expect(answer(chaos).rcode).toBe(5);
  });

  it('drops runts and responses', () => {
    expect(answerQuery(Buffer.alloc(5), zone)).toBeNull();
    const response = answerQuery(buildQuery('web.berth.internal', 'A'), zone)!;
    expect(answerQuery(response, zone)).toBeNull();
  });

  it('sends an answer that would not fit in 512 bytes truncated, without answers', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ type: 'A' as const, value: `10.0.0.${i}`, ttl: 1 }));
    const response = answer(buildQuery('web.berth.internal', 'A'), () => ({ rcode: 'NOERROR', answers: many }));
    expect(response).toMatchObject({ truncated: true, answers: [] });
  });
});
