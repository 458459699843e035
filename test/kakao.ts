/**
 * A Kakao-compatible AlimTalk endpoint for the tests (the request shape of NHN Cloud's v2.3 send
 * API): it checks the API key, delivers one message per idempotency key (`X-NC-API-IDEMPOTENCY-KEY`,
 * NHN Cloud's header) and answers a repeat as taken, records every request, and can be taken down
 * (503), made to hold its answers, or stopped.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

export interface KakaoRecipient {
  recipientNo: string;
  templateParameter: Record<string, string>;
  recipientGroupingKey: string;
  resendParameter?: { isResend: boolean; resendType: string; resendContent: string };
}

export interface KakaoRequest {
  senderKey: string;
  templateCode: string;
  recipientList: KakaoRecipient[];
}

export interface KakaoMessage {
  /** `tshop-<reservationId>-<kind>`. */
  key: string;
  reservationId: string;
  kind: string;
  request: KakaoRequest;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body));
  });

export interface FakeKakaoOptions {
  host?: string;
  port?: number;
  /** Serves https with this key and certificate (PEM), as a real provider does. */
  tls?: { key: string; cert: string };
  /** Told of each message once, when it first reaches the phone. */
  onDeliver?: (message: KakaoMessage) => void;
}

export async function startFakeKakao(apiKey = 'test-kakao-api-key', senderKey = 'test-sender-key', options: FakeKakaoOptions = {}) {
  /** Every POST that reached it (repeats too), in arrival order. */
  const requests: { key: string; apiKeyOk: boolean }[] = [];
  /** What reached a phone: one message per key, in order. */
  const delivered: KakaoMessage[] = [];
  let down = false;
  /** While set, requests are recorded, then left without an answer until it is cleared. */
  let held: { promise: Promise<void>; release: () => void } | undefined;
  // A malformed request (the JSON.parse below) ends its connection rather than the test process.
  const handler = (req: IncomingMessage, res: ServerResponse) => void answer(req, res).catch((err: Error) => res.destroy(err));
  const server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const key = String(req.headers['x-nc-api-idempotency-key'] ?? '');
    const apiKeyOk = req.headers['x-secret-key'] === apiKey;
    requests.push({ key, apiKeyOk });
    if (down) return void res.writeHead(503).end('down for the test');
    if (!apiKeyOk) return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ header: { isSuccessful: false, resultCode: -1, resultMessage: 'bad key' } }));
    const request = JSON.parse(body) as KakaoRequest;
    if (!delivered.some((m) => m.key === key)) {
      const [, reservationId, kind] = /^tshop-(.+)-([A-Z]+)$/.exec(key) ?? [];
      const message = { key, reservationId: reservationId ?? '', kind: kind ?? '', request };
      delivered.push(message);
      options.onDeliver?.(message);
    }
    await held?.promise;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        header: { resultCode: 0, resultMessage: 'SUCCESS', isSuccessful: true },
        message: { requestId: `req-${requests.length}`, sendResults: [{ recipientSeq: 1, resultCode: 0, resultMessage: 'SUCCESS', recipientGroupingKey: key }] },
      }),
    );
  };
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((r) => server.listen(options.port ?? 0, host, r));
  const scheme = options.tls ? 'https' : 'http';
  const url = `${scheme}://${host}:${(server.address() as { port: number }).port}/alimtalk/v2.3/appkeys/test/messages`;
  return {
    url,
    requests,
    delivered,
    /** What one reservation's customer received, in order. */
    to: (reservationId: string) => delivered.filter((m) => m.reservationId === reservationId),
    setDown: (d: boolean) => void (down = d),
    hold(on: boolean) {
      if (on && !held) {
        let release!: () => void;
        const promise = new Promise<void>((r) => (release = r));
        held = { promise, release };
      } else if (!on && held) {
        held.release();
        held = undefined;
      }
    },
    /** The notifier's environment for this endpoint. */
    env: { KAKAO_API_URL: url, KAKAO_SENDER_KEY: senderKey, KAKAO_API_KEY: apiKey },
    close: () => {
      held?.release();
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
export type FakeKakao = Awaited<ReturnType<typeof startFakeKakao>>;
