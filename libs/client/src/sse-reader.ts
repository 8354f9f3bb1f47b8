/** One Server-Sent Event, or a comment line (`event: 'comment'`). */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * Reads Server-Sent Events from a `fetch` response body (the `text/event-stream` format):
 * `event:`, `data:` (several lines joined by `\n`), `id:`, comments; `retry:` is ignored.
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length > 0 || event !== '') {
          yield { event: event || 'message', data: data.join('\n'), ...(id ? { id } : {}) };
        }
        event = '';
        data = [];
        id = undefined;
        continue;
      }
      if (line.startsWith(':')) {
        yield { event: 'comment', data: line.slice(1).trim() };
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
  }
}
