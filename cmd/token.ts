/**
 * `npm run token -- --role customer --sub c-1 [--name 홍길동] [--phone 010-1234-5678]` (or `--role store --store gangnam`,
 * `--role admin`): prints a bearer token. A customer's token carries a verified number, as the identity provider's would:
 * `--phone`, else the demo customer's, else one made from the subject.
 */
import { parseArgs } from 'node:util';
import { ROLES, resolveSigningSecret, signToken, type Principal } from '../platform/auth.js';
import { parseConfig } from '../platform/config.js';
import { normalizePhone } from '../platform/phone.js';
import { demoNameFor, demoPhoneFor } from '../db/data/demo.js';

const usage = 'usage: npm run -s token -- --role customer|store|admin [--sub <id>] [--name <name>] [--phone <number>] [--store <store id>] [--ttl <seconds>]';
try {
  const { values } = parseArgs({
    options: { role: { type: 'string' }, sub: { type: 'string' }, store: { type: 'string' }, ttl: { type: 'string' }, name: { type: 'string' }, phone: { type: 'string' } },
  });
  const role = values.role as (typeof ROLES)[number] | undefined;
  if (!role || !ROLES.includes(role)) throw new Error(usage);
  const sub = values.sub ?? (role === 'admin' ? 'admin' : role === 'store' ? `staff-${values.store ?? ''}` : 'c-1');
  let principal: Principal;
  if (role === 'store') {
    if (!values.store) throw new Error('a store token needs --store <store id> (e.g. gangnam)');
    principal = { role, sub, storeId: values.store };
  } else if (role === 'customer') {
    const phone = normalizePhone(values.phone ?? demoPhoneFor(sub));
    if (!phone) throw new Error(`--phone ${values.phone} is not a phone number`);
    const name = values.name ?? demoNameFor(sub);
    principal = { role, sub, phone, ...(name ? { name } : {}) };
  } else {
    principal = { role, sub };
  }
  const config = parseConfig();
  const secret = resolveSigningSecret(config.jwtSecret, config.dataDir, true)!;
  const longest = config.tokenMaxTtlSeconds[role];
  const ttl = values.ttl ? Number(values.ttl) : longest;
  // The API refuses a token that lives longer than its role may (TOKEN_MAX_TTL_<ROLE>): never print one.
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > longest) throw new Error(`--ttl must be 1 to ${longest} seconds for the ${role} role (TOKEN_MAX_TTL_${role.toUpperCase()})`);
  process.stdout.write(`${await signToken(secret, principal, ttl)}\n`);
} catch (err) {
  process.stderr.write(`tshop: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
