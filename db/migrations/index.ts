/** Every migration, in order. Add new files here; never edit one that has shipped. */
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_lifecycle.js';
import * as m0003 from './0003_idempotency.js';
import * as m0004 from './0004_fast_reject.js';
import * as m0005 from './0005_reassign.js';
import * as m0006 from './0006_admission.js';
import * as m0007 from './0007_relay_claims.js';
import * as m0008 from './0008_token_revocations.js';
import * as m0009 from './0009_reservation_requests.js';
import * as m0010 from './0010_kakao_notifier.js';
import * as m0011 from './0011_reservation_feed.js';
import * as m0012 from './0012_store_naming.js';
import * as m0013 from './0013_launch_sales.js';
import * as m0014 from './0014_sold_out_from.js';
import * as m0015 from './0015_rate_limits_unlogged.js';
import * as m0016 from './0016_drop_store_naming_shim.js';
import * as m0017 from './0017_assignment_schema.js';
import * as m0018 from './0018_notification_wakeup.js';
import * as m0019 from './0019_drop_notification_deliverer.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_lifecycle': m0002,
  '0003_idempotency': m0003,
  '0004_fast_reject': m0004,
  '0005_reassign': m0005,
  '0006_admission': m0006,
  '0007_relay_claims': m0007,
  '0008_token_revocations': m0008,
  '0009_reservation_requests': m0009,
  '0010_kakao_notifier': m0010,
  '0011_reservation_feed': m0011,
  '0012_store_naming': m0012,
  '0013_launch_sales': m0013,
  '0014_sold_out_from': m0014,
  '0015_rate_limits_unlogged': m0015,
  '0016_drop_store_naming_shim': m0016,
  '0017_assignment_schema': m0017,
  '0018_notification_wakeup': m0018,
  '0019_drop_notification_deliverer': m0019,
};
