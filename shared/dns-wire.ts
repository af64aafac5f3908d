/**
 * Just enough of the DNS wire format (RFC 1035 §4) to answer one question authoritatively: the agent's loopback
 * resolver for Caddy's dynamic upstreams, and test DNS servers (TXT records for ACME challenges, say). No
 * recursion, no EDNS (an OPT record in a query is ignored, which RFC 6891 §7 allows), no zone transfers.
 */

/** The answer codes {@link answerQuery} can give. */
export type DnsRcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED';

/** One record of an answer; it is for the name that was asked. */
export interface DnsAnswer {
  type: 'A' | 'TXT';
  /** A: a dotted IPv4 address. TXT: the text (split into 255-byte strings on the wire). */
  value: string;
  /** Seconds. */
  ttl: number;
}

/** What a lookup decides for one question. */
export interface DnsLookupResult {
  rcode: DnsRcode;
  answers: DnsAnswer[];
}

/**
 * Answers `name` (lower case, without the trailing dot) of `type` (`A`, `AAAA`, `TXT`, … or `TYPE<n>` for a type
 * without a name here).
 */
export type DnsLookup = (name: string, type: string) => DnsLookupResult;

const rcodes = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const typeNames: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 16: 'TXT', 28: 'AAAA', 255: 'ANY' };
const typeCodes = { A: 1, TXT: 16 } as const;
const classIn = 1;
const headerLength = 12;
/** Without EDNS a UDP answer must fit in 512 bytes; a bigger one is sent truncated (TC) and without answers. */
const maxUdpLength = 512;

/** A query's question as read from the packet: where it ends, its name and its type and class. */
interface Question {
  end: number;
  name: string;
  type: number;
  qclass: number;
}

/**
 * Reads the name at `offset`. Queries are not compressed, but a pointer is followed anyway (only backwards, so a
 * loop cannot form). Returns null when the name runs past the packet, is longer than 255 bytes or has a bad label.
 */
function readName(packet: Buffer, offset: number): { name: string; end: number } | null {
  const labels: string[] = [];
  let length = 0;
  let at = offset;
  let end = -1;
  // Each pointer must go before the start of the labels it follows, so the walk always ends.
  let segmentStart = offset;
  for (let hops = 0; hops < 128; hops++) {
    if (at >= packet.length) return null;
    const size = packet[at]!;
    if (size === 0) return { name: labels.join('.'), end: end === -1 ? at + 1 : end };
    if ((size & 0xc0) === 0xc0) {
      if (at + 1 >= packet.length) return null;
      const target = ((size & 0x3f) << 8) | packet[at + 1]!;
      if (target >= segmentStart) return null;
      if (end === -1) end = at + 2;
      segmentStart = target;
      at = target;
      continue;
    }
    if ((size & 0xc0) !== 0 || at + 1 + size > packet.length) return null;
    length += size + 1;
    if (length > 255) return null;
    labels.push(packet.toString('latin1', at + 1, at + 1 + size).toLowerCase());
    at += 1 + size;
  }
  return null;
}

function readQuestion(packet: Buffer): Question | null {
  const name = readName(packet, headerLength);
  if (name === null || name.end + 4 > packet.length) return null;
  return {
    end: name.end + 4,
    name: name.name,
    type: packet.readUInt16BE(name.end),
    qclass: packet.readUInt16BE(name.end + 2),
  };
}

function rdata(answer: DnsAnswer): Buffer {
  if (answer.type === 'A') {
    const octets = answer.value.split('.').map(Number);
    if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
      throw new RangeError(`not an IPv4 address: "${answer.value}"`);
    }
    return Buffer.from(octets);
  }
  const text = Buffer.from(answer.value, 'utf8');
  const strings: Buffer[] = [];
  for (let at = 0; at < text.length || strings.length === 0; at += 255) {
    const chunk = text.subarray(at, at + 255);
    strings.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(strings);
}

/** One answer record; its name is a pointer to the question's name, which always starts right after the header. */
function answerRecord(answer: DnsAnswer): Buffer {
  const data = rdata(answer);
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc000 | headerLength, 0);
  fixed.writeUInt16BE(typeCodes[answer.type], 2);
  fixed.writeUInt16BE(classIn, 4);
  fixed.writeUInt32BE(Math.max(0, Math.min(2 ** 31 - 1, Math.floor(answer.ttl))), 6);
  fixed.writeUInt16BE(data.length, 10);
  return Buffer.concat([fixed, data]);
}

/** The header of a response to `query`: same id, QR and AA set, opcode and RD copied. */
function responseHeader(query: Buffer, rcode: number, counts: { qd: number; an: number; truncated?: boolean }) {
  const header = Buffer.alloc(headerLength);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  const opcodeAndRd = query.readUInt16BE(2) & 0x7900;
  header.writeUInt16BE(0x8000 | opcodeAndRd | 0x0400 | (counts.truncated ? 0x0200 : 0) | rcode, 2);
  header.writeUInt16BE(counts.qd, 4);
  header.writeUInt16BE(counts.an, 6);
  return header;
}

/**
 * Answers one DNS query packet with `lookup`'s verdict: the question echoed, AA set, RD copied, and the answers.
 * Returns null for what should be dropped without a word: a packet shorter than a header, or one that is itself
 * a response. A query with other than one question, or one whose question cannot be read, gets FORMERR; an opcode
 * other than QUERY gets NOTIMP; a class other than IN gets REFUSED. A name is matched without regard to case.
 */
export function answerQuery(packet: Buffer, lookup: DnsLookup): Buffer | null {
  if (packet.length < headerLength || (packet[2]! & 0x80) !== 0) return null;
  const formerr = () => responseHeader(packet, rcodes.FORMERR, { qd: 0, an: 0 });
  if (packet.readUInt16BE(4) !== 1) return formerr();
  const question = readQuestion(packet);
  if (question === null) return formerr();
  const questionBytes = packet.subarray(headerLength, question.end);
  const reply = (rcode: number, answers: Buffer[]) => {
    const size = headerLength + questionBytes.length + answers.reduce((sum, a) => sum + a.length, 0);
    if (size > maxUdpLength)
      return Buffer.concat([responseHeader(packet, rcode, { qd: 1, an: 0, truncated: true }), questionBytes]);
    return Buffer.concat([responseHeader(packet, rcode, { qd: 1, an: answers.length }), questionBytes, ...answers]);
  };
  if (((packet[2]! >> 3) & 0x0f) !== 0) return reply(rcodes.NOTIMP, []);
  if (question.qclass !== classIn) return reply(rcodes.REFUSED, []);
  const type = typeNames[question.type] ?? `TYPE${question.type}`;
  const result = lookup(question.name.replace(/\.$/, ''), type);
  const answers = result.rcode === 'NOERROR' ? result.answers.map(answerRecord) : [];
  return reply(rcodes[result.rcode], answers);
}

/** A query for `name` of `type` with id `id` and RD set, as a stub resolver sends it (for tests and checks). */
export function buildQuery(name: string, type: 'A' | 'AAAA' | 'TXT', id = 1): Buffer {
  const header = Buffer.alloc(headerLength);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l !== '')
    .map((label) => Buffer.concat([Buffer.from([Buffer.byteLength(label)]), Buffer.from(label)]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE({ A: 1, AAAA: 28, TXT: 16 }[type], 0);
  tail.writeUInt16BE(classIn, 2);
  return Buffer.concat([header, ...labels, Buffer.from([0]), tail]);
}

/** A response as a test reads it: id, flags, rcode and the answers' types and values (A and TXT decoded). */
export interface ParsedResponse {
  id: number;
  authoritative: boolean;
  recursionDesired: boolean;
  truncated: boolean;
  rcode: number;
  question: { name: string; type: number } | null;
  answers: Array<{ type: number; ttl: number; value: string }>;
}

/** Reads a response {@link answerQuery} wrote (or any uncompressed-answer response); throws on a short packet. */
export function parseResponse(packet: Buffer): ParsedResponse {
  if (packet.length < headerLength) throw new RangeError('shorter than a DNS header');
  const flags = packet.readUInt16BE(2);
  const qd = packet.readUInt16BE(4);
  const an = packet.readUInt16BE(6);
  let at = headerLength;
  let question: ParsedResponse['question'] = null;
  if (qd === 1) {
    const q = readQuestion(packet);
    if (q === null) throw new RangeError('unreadable question');
    question = { name: q.name, type: q.type };
    at = q.end;
  }
  const answers: ParsedResponse['answers'] = [];
  for (let i = 0; i < an; i++) {
    const name = readName(packet, at);
    if (name === null) throw new RangeError('unreadable answer name');
    at = name.end;
    const type = packet.readUInt16BE(at);
    const ttl = packet.readUInt32BE(at + 4);
    const length = packet.readUInt16BE(at + 8);
    const data = packet.subarray(at + 10, at + 10 + length);
    at += 10 + length;
    let value = data.toString('hex');
    if (type === 1) value = [...data].join('.');
    if (type === 16) {
      const parts: string[] = [];
      for (let p = 0; p < data.length; p += 1 + data[p]!) parts.push(data.toString('utf8', p + 1, p + 1 + data[p]!));
      value = parts.join('');
    }
    answers.push({ type, ttl, value });
  }
  return {
    id: packet.readUInt16BE(0),
    authoritative: (flags & 0x0400) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0x000f,
    question,
    answers,
  };
}
