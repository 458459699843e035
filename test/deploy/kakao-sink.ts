/**
 * The Kakao-compatible sink of the compose stack under test (test/kakao.ts, served over https):
 * started in a container on the stack's egress network by test/deploy, it prints one JSON line per
 * message that reached a phone, which the tests read from the container's log. Never part of a
 * deployment: it records customers' messages.
 *   KAKAO_SINK_KEY, KAKAO_SINK_CERT  PEM files; KAKAO_API_KEY, KAKAO_SENDER_KEY  what it accepts
 */
import { readFileSync } from 'node:fs';
import { startFakeKakao } from '../kakao.js';

const env = (name: string) => process.env[name] ?? (console.error(`kakao sink: ${name} is required`), process.exit(2));

const sink = await startFakeKakao(env('KAKAO_API_KEY'), env('KAKAO_SENDER_KEY'), {
  host: '0.0.0.0',
  port: 8443,
  tls: { key: readFileSync(env('KAKAO_SINK_KEY'), 'utf8'), cert: readFileSync(env('KAKAO_SINK_CERT'), 'utf8') },
  onDeliver: ({ key, reservationId, kind, request }) =>
    console.log(JSON.stringify({ delivered: { key, reservationId, kind, templateCode: request.templateCode, recipients: request.recipientList.length } })),
});
console.log(JSON.stringify({ listening: sink.url }));
process.on('SIGTERM', () => void sink.close().then(() => process.exit(0)));
