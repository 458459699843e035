import type { Config } from '../../shared/config.js';
import type { Db } from '../../db/schema.js';
import { listen, type RunningServer } from '../../shared/http.js';
import type { Logger } from '../../shared/log.js';
import { createRevocationList } from '../revocations.js';
import { codecAppFromConfig } from './app.js';

/** The codec endpoint's port under `npm start`: CODEC_PORT, or three above the API's. */
const codecPort = (config: Config) => config.codec.port ?? config.http.port + 3;

/** The codec endpoint of `npm start` (with PAYLOAD_KEYS): beside the Web UI, on loopback. */
export const codecUrl = (config: Config) => `http://127.0.0.1:${codecPort(config)}`;

/** Serves the codec endpoint on loopback, for the dev server's Web UI; revocations read from `db`. */
export async function startCodecServer(config: Config, authSecret: string, db: Db, log: Logger): Promise<RunningServer | undefined> {
  const ui = config.temporal.devServerUiPort;
  const app = codecAppFromConfig(config, authSecret, [`http://localhost:${ui}`, `http://127.0.0.1:${ui}`], createRevocationList(db, log));
  if (!app) return undefined;
  return listen(app.fetch, '127.0.0.1', codecPort(config), 'codec endpoint, CODEC_PORT');
}
