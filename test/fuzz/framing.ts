/**
 * Raw-socket framing cases: a write whose message framing is invalid or ambiguous (Content-Length
 * against Transfer-Encoding, duplicate or malformed lengths, bad chunk sizes, obs-fold, bad header
 * names, truncated bodies), carrying a smuggled second request in what follows. API.md, Hostile
 * input: such requests get 400/431 or a closed connection, never a second request executed.
 */
import { connect } from 'node:net';
import fc from 'fast-check';

export interface FramingCase {
  name: string;
  /** Header lines (without CRLF) that frame the first request. */
  headers: string[];
  /** What follows the header block: the first body, then the smuggled request. */
  rest: (json: string, smuggled: string) => string;
}

const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

/** Every case here is invalid or ambiguous framing: the smuggled request must never run. */
export const FRAMINGS: FramingCase[] = [
  {
    name: 'CL then TE: chunked',
    headers: ['Content-Length: 4', 'Transfer-Encoding: chunked'],
    rest: (json, smuggled) => `${chunk(json)}0\r\n\r\n${smuggled}`,
  },
  {
    name: 'TE: chunked then CL',
    headers: ['Transfer-Encoding: chunked', 'Content-Length: 300'],
    rest: (json, smuggled) => `${chunk(json)}0\r\n\r\n${smuggled}`,
  },
  {
    name: 'CL covering a chunked body with TE',
    headers: ['Transfer-Encoding: chunked', 'Content-Length: 0'],
    rest: (_json, smuggled) => `0\r\n\r\n${smuggled}`,
  },
  {
    name: 'two different Content-Lengths',
    headers: ['Content-Length: 2', 'Content-Length: 40'],
    rest: (_json, smuggled) => `{}${smuggled}`,
  },
  {
    name: 'Content-Length list with different values',
    headers: ['Content-Length: 2, 40'],
    rest: (_json, smuggled) => `{}${smuggled}`,
  },
  {
    name: 'Content-Length with a sign',
    headers: ['Content-Length: +2'],
    rest: (_json, smuggled) => `{}${smuggled}`,
  },
  {
    name: 'Content-Length in hex',
    headers: ['Content-Length: 0x2'],
    rest: (_json, smuggled) => `{}${smuggled}`,
  },
  {
    name: 'negative Content-Length',
    headers: ['Content-Length: -1'],
    rest: (_json, smuggled) => `{}${smuggled}`,
  },
  {
    name: 'TE: chunked, identity',
    headers: ['Transfer-Encoding: chunked, identity'],
    rest: (json, smuggled) => `${chunk(json)}0\r\n\r\n${smuggled}`,
  },
  {
    name: 'TE: identity',
    headers: ['Transfer-Encoding: identity', 'Content-Length: 2'],
    rest: (_json, smuggled) => `{}${smuggled}`,
  },
  {
    name: 'TE: xchunked',
    headers: ['Transfer-Encoding: xchunked'],
    rest: (json, smuggled) => `${chunk(json)}0\r\n\r\n${smuggled}`,
  },
  {
    name: 'TE: gzip, chunked',
    headers: ['Transfer-Encoding: gzip, chunked'],
    rest: (json, smuggled) => `${chunk(json)}0\r\n\r\n${smuggled}`,
  },
  {
    name: 'TE with a space before the colon',
    headers: ['Transfer-Encoding : chunked', 'Content-Length: 2'],
    rest: (_json, smuggled) => `{}${smuggled}`,
  },
  {
    name: 'TE folded onto a second line (obs-fold)',
    headers: ['Transfer-Encoding:', ' chunked', 'Content-Length: 2'],
    rest: (_json, smuggled) => `{}${smuggled}`,
  },
  {
    name: 'two TE headers, chunked not last',
    headers: ['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'],
    rest: (json, smuggled) => `${chunk(json)}0\r\n\r\n${smuggled}`,
  },
  {
    name: 'chunk size that is not hex',
    headers: ['Transfer-Encoding: chunked'],
    rest: (_json, smuggled) => `zz\r\n{}\r\n0\r\n\r\n${smuggled}`,
  },
  {
    name: 'chunk size past 64 bits',
    headers: ['Transfer-Encoding: chunked'],
    rest: (_json, smuggled) => `1${'0'.repeat(17)}\r\n{}\r\n0\r\n\r\n${smuggled}`,
  },
  {
    name: 'chunk data longer than its size',
    headers: ['Transfer-Encoding: chunked'],
    rest: (_json, smuggled) => `1\r\n{}\r\n0\r\n\r\n${smuggled}`,
  },
  {
    name: 'chunk size with a bare LF',
    headers: ['Transfer-Encoding: chunked'],
    rest: (_json, smuggled) => `2\n{}\r\n0\r\n\r\n${smuggled}`,
  },
  {
    name: 'NUL in a header value',
    headers: ['Content-Length: 2', 'X-Note: a\u0000b'],
    rest: (_json, smuggled) => `{}${smuggled}`,
  },
];

export const framingArbitrary: fc.Arbitrary<FramingCase> = fc.constantFrom(...FRAMINGS);

/**
 * Writes `payload` on a fresh connection and collects what comes back until the server closes,
 * nothing arrives for `idleMs` after something did, or `timeoutMs` passes.
 */
export function rawExchange(
  baseUrl: string,
  payload: string,
  idleMs = 400,
  timeoutMs = 4000,
): Promise<{ text: string; closed: boolean }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let text = '';
    let closed = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(idle);
      clearTimeout(overall);
      socket.destroy();
      resolve({ text, closed });
    };
    const overall = setTimeout(finish, timeoutMs);
    socket.on('data', (data: Buffer) => {
      text += data.toString('latin1');
      clearTimeout(idle);
      idle = setTimeout(finish, idleMs);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
      clearTimeout(overall);
      clearTimeout(idle);
      reject(error);
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.write(payload, 'latin1');
  });
}

/** The status codes of every response in a raw HTTP/1.1 stream. */
export function statusesOf(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}
