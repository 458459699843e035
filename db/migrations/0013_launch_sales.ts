import { sql, type Kysely } from 'kysely';

// Frozen in time: launch day in front of real customers.
// - `sales`: one row per product, the sale's settings (opening and closing time, pause, units per
//   customer, first-come or lottery, admission rate) and its line's counters: tickets are numbered
//   1..issued as they join, and `admitted` is the watermark below which every place has been passed.
// - `queue_tickets`: a customer's place in a product's line (no workflow until admitted).
// - `allowances` / `allowance_uses`: units held per customer and per phone number, taken with the
//   admission claim, given back when a reservation ends without its unit.
// - `sold_out_refusals`: a customer is refused (and told) a sold-out product once.
// - `sale_samples`: the launch desk's charts, a row per product every few seconds.
// - `rate_limits`: the write limits' shared store (rate-limiter-flexible's table layout).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table sales (
      product_id integer primary key references products (id),
      opens_at timestamptz,
      closes_at timestamptz,
      paused boolean not null default false,
      unit_limit integer not null default 1 check (unit_limit between 1 and 10),
      queue_order text not null default 'FIFO' check (queue_order in ('FIFO', 'LOTTERY')),
      admission_rate real check (admission_rate > 0),
      seed text,
      seed_sha256 text,
      drawn_at timestamptz,
      drawn_count integer,
      issued bigint not null default 0,
      early_upto bigint not null default 0,
      admitted bigint not null default 0 check (admitted <= issued),
      sold_out_upto bigint not null default 0,
      sold_out_at timestamptz,
      credit real not null default 0,
      credited_at timestamptz,
      updated_at timestamptz not null default now(),
      check (closes_at is null or opens_at is null or closes_at > opens_at)
    )`.execute(db);
  await sql`insert into sales (product_id) select id from products`.execute(db);

  await sql`
    create table queue_tickets (
      id text primary key,
      product_id integer not null references products (id),
      reservation_id text not null unique,
      seq bigint not null,
      position bigint,
      customer_id text not null,
      phone_key text,
      quantity integer not null check (quantity > 0),
      fulfilment text not null,
      name text,
      phone text,
      district text,
      latitude double precision,
      longitude double precision,
      state text not null default 'WAITING'
        check (state in ('WAITING', 'ADMITTED', 'RESERVED', 'SOLD_OUT', 'REFUSED', 'LAPSED', 'LEFT')),
      refusal text,
      alive_until timestamptz not null,
      joined_at timestamptz not null default now(),
      admitted_at timestamptz,
      ended_at timestamptz,
      updated_at timestamptz not null default now(),
      unique (product_id, seq)
    )`.execute(db);
  await sql`create unique index queue_tickets_position_idx on queue_tickets (product_id, position) where position is not null`.execute(db);
  await sql`create unique index queue_tickets_customer_live_idx on queue_tickets (product_id, customer_id) where ended_at is null`.execute(db);
  await sql`create unique index queue_tickets_phone_live_idx on queue_tickets (product_id, phone_key) where ended_at is null and phone_key is not null`.execute(db);
  await sql`create index queue_tickets_admitted_idx on queue_tickets (product_id, admitted_at) where state = 'ADMITTED'`.execute(db);
  await sql`create index queue_tickets_updated_idx on queue_tickets (updated_at)`.execute(db);
  await sql`create index queue_tickets_customer_idx on queue_tickets (customer_id, joined_at desc)`.execute(db);

  await sql`
    create table allowances (
      product_id integer not null references products (id),
      holder text not null,
      used integer not null check (used >= 0),
      cap integer not null,
      primary key (product_id, holder),
      constraint allowances_within_cap check (used <= cap)
    )`.execute(db);
  await sql`
    create table allowance_uses (
      reservation_id text primary key,
      product_id integer not null references products (id),
      holders text[] not null,
      quantity integer not null check (quantity > 0),
      created_at timestamptz not null default now(),
      decided_at timestamptz,
      returned_at timestamptz
    )`.execute(db);
  await sql`create index allowance_uses_undecided_idx on allowance_uses (created_at) where decided_at is null and returned_at is null`.execute(db);

  await sql`
    create table sold_out_refusals (
      customer_id text not null,
      product_id integer not null references products (id),
      reservation_id text not null,
      created_at timestamptz not null default now(),
      primary key (customer_id, product_id)
    )`.execute(db);

  await sql`
    create table sale_samples (
      product_id integer not null references products (id),
      at timestamptz not null,
      stock integer not null,
      claimed integer not null,
      issued bigint not null,
      admitted bigint not null,
      waiting bigint not null,
      accepted bigint not null,
      primary key (product_id, at)
    )`.execute(db);

  await sql`create table rate_limits (key varchar(255) primary key, points integer not null default 0, expire bigint)`.execute(db);
  await sql`create index rate_limits_expire_idx on rate_limits (expire)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['rate_limits', 'sale_samples', 'sold_out_refusals', 'allowance_uses', 'allowances', 'queue_tickets', 'sales']) {
    await db.schema.dropTable(table).execute();
  }
}
