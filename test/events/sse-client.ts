import { type ChangeEvent, readSse } from '@model-configs/client';

/** One change event as the stream carries it. */
export type StreamEvent = ChangeEvent;

/** A test's view of one open Server-Sent-Event stream. */
export class TestStream {
  readonly changes: StreamEvent[] = [];
  readonly frames: { event: string; data: string; id?: string }[] = [];
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];
  status = 0;
  closed = false;

  /** Opens `url` (with `headers`, e.g. Last-Event-ID) and resolves once `ready` arrives. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<TestStream> {
    const stream = new TestStream();
    const response = await fetch(url, { headers, signal: stream.abort.signal });
    stream.status = response.status;
    if (!response.ok || !response.body) return stream;
    void stream.read(response.body as unknown as AsyncIterable<Uint8Array>);
    await stream.until(() => stream.frames.some((f) => f.event === 'ready' || f.event === 'reset'));
    return stream;
  }

  private async read(body: AsyncIterable<Uint8Array>): Promise<void> {
    try {
      for await (const message of readSse(body)) {
        this.frames.push(message);
        if (message.event === 'change') this.changes.push(JSON.parse(message.data) as StreamEvent);
        this.wake();
      }
    } catch {
      // aborted or cut by the server
    }
    this.closed = true;
    this.wake();
  }

  /** Waits until `condition` holds (checked after every frame), at most `timeoutMs`. */
  async until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('The stream did not deliver in time');
      if (this.closed) throw new Error('The stream closed');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.abort.abort();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
