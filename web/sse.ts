/**
 * A parser for the server-sent-events wire format (the HTML standard's "event stream"), fed text
 * as it arrives in chunks of any size: lines end in LF, CRLF or CR (a CRLF split between two
 * chunks is one line end), `:` lines are comments (the server's keep-alives), `data` lines of one
 * event are joined with LF, and a blank line dispatches the event. Unlike EventSource it also
 * dispatches an event that has a type but no data (`event: ready` alone). Pure: no DOM, no I/O.
 */
export interface SseEvent {
  /** The `event:` field, `message` when there was none. */
  event: string;
  data: string;
  /** The last `id:` seen on the stream so far (the spec's last event id). */
  id: string;
}

export class SseParser {
  private buffer = '';
  private started = false;
  private data: string[] = [];
  private type = '';
  private sawData = false;
  /** The stream's last event id, sent back as Last-Event-ID when reconnecting. */
  lastEventId = '';
  /** The reconnection delay the server asked for (`retry:`), in milliseconds. */
  retryMs: number | undefined;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onComment: (text: string) => void = () => undefined,
  ) {}

  /** Feeds decoded text; complete lines are handled at once, a partial one waits for more. */
  push(chunk: string): void {
    let text = this.buffer + chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (c === 13 && i + 1 === text.length) break;
      this.line(text.slice(start, i));
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buffer = text.slice(start);
  }

  /** The stream ended: an event not yet terminated by a blank line is dropped, as the standard says. */
  end(): void {
    if (this.buffer.endsWith('\r')) this.line(this.buffer.slice(0, -1));
    this.buffer = '';
    this.reset();
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return this.onComment(line.slice(1).trimStart());
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.type = value;
        break;
      case 'data':
        this.data.push(value);
        this.sawData = true;
        break;
      case 'id':
        if (!value.includes('\u0000')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        // Unknown fields are ignored.
        break;
    }
  }

  private dispatch(): void {
    if (this.sawData || this.type !== '') {
      this.onEvent({ event: this.type || 'message', data: this.data.join('\n'), id: this.lastEventId });
    }
    this.reset();
  }

  private reset(): void {
    this.data = [];
    this.type = '';
    this.sawData = false;
  }
}
