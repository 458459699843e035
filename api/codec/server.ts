import type { Config } from '../../platform/config.js';
import { listen, type RunningServer } from '../../platform/http.js';
import type { RevocationList } from '../revocations.js';
import { codecAppFromConfig } from './app.js';

/** The codec endpoint's port under `npm start`: CODEC_PORT, or three above the API's. */
const codecPort = (config: Config) => config.codec.port ?? config.http.port + 3;

/** The codec endpoint of `npm start` (with PAYLOAD_KEYS): beside the Web UI, on loopback. */
export const codecUrl = (config: Config) => `http://127.0.0.1:${codecPort(config)}`;

/** Serves the codec endpoint on loopback, for the dev server's Web UI; it checks tokens against the API's `revocations`. */
export async function startCodecServer(config: Config, authSecret: string, revocations: RevocationList): Promise<RunningServer | undefined> {
  const ui = config.temporal.devServerUiPort;
  const app = codecAppFromConfig(config, authSecret, [`http://localhost:${ui}`, `http://127.0.0.1:${ui}`], revocations);
  if (!app) return undefined;
  return listen(app.fetch, '127.0.0.1', codecPort(config), 'codec endpoint, CODEC_PORT');
}
