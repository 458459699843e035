/**
 * A Kakao-compatible AlimTalk endpoint for the tests (the request shape of NHN Cloud's v2.3 send
 * API): it checks the API key, delivers one message per idempotency key (`X-NC-API-IDEMPOTENCY-KEY`,
 * NHN Cloud's header) and answers a repeat as taken, records every request, and can be taken down
 * (503), made to hold its answers, or stopped.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

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

export async function startFakeKakao(apiKey = 'test-kakao-api-key', senderKey = 'test-sender-key') {
  /** Every POST that reached it (repeats too), in arrival order. */
  const requests: { key: string; apiKeyOk: boolean }[] = [];
  /** What reached a phone: one message per key, in order. */
  const delivered: KakaoMessage[] = [];
  let down = false;
  /** While set, requests are recorded, then left without an answer until it is cleared. */
  let held: { promise: Promise<void>; release: () => void } | undefined;
  // A malformed request (the JSON.parse below) ends its connection rather than the test process.
  const server = createServer((req, res) => void answer(req, res).catch((err: Error) => res.destroy(err)));
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
      delivered.push({ key, reservationId: reservationId ?? '', kind: kind ?? '', request });
    }
    await held?.promise;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        header: { resultCode: 0, resultMessage: 'SUCCESS', isSuccessful: true },
        message: { requestId: `req-${requests.length}`, sendResults: [{ recipientSeq: 1, resultCode: 0, resultMessage: 'SUCCESS', recipientGroupingKey: key }] },
      }),
    );
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/alimtalk/v2.3/appkeys/test/messages`;
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
