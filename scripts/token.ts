/** `npm run token -- --role customer --sub c-1` (or `--role agency --agency gangnam`, `--role admin`): prints a bearer token. */
import { parseArgs } from 'node:util';
import { ROLES, resolveSigningSecret, signToken, type Principal } from '../shared/auth.js';
import { parseConfig } from '../shared/config.js';

const usage = 'usage: npm run -s token -- --role customer|agency|admin [--sub <id>] [--agency <store id>] [--ttl <seconds>]';
try {
  const { values } = parseArgs({
    options: { role: { type: 'string' }, sub: { type: 'string' }, agency: { type: 'string' }, ttl: { type: 'string' } },
  });
  const role = values.role as (typeof ROLES)[number] | undefined;
  if (!role || !ROLES.includes(role)) throw new Error(usage);
  const sub = values.sub ?? (role === 'admin' ? 'admin' : role === 'agency' ? `staff-${values.agency ?? ''}` : 'c-1');
  let principal: Principal;
  if (role === 'agency') {
    if (!values.agency) throw new Error('an agency token needs --agency <store id> (e.g. gangnam)');
    principal = { role, sub, agencyId: values.agency };
  } else {
    principal = { role, sub };
  }
  const config = parseConfig();
  const secret = resolveSigningSecret(config.jwtSecret, config.dataDir, true)!;
  const ttl = values.ttl ? Number(values.ttl) : undefined;
  process.stdout.write(`${await signToken(secret, principal, ttl)}\n`);
} catch (err) {
  process.stderr.write(`tshop: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
