#!/bin/sh
# One-shot job (temporalio/admin-tools): brings Temporal's two PostgreSQL databases to the schema
# version this admin-tools image ships, before the server starts. Safe to run on every
# `docker compose up`: `create` accepts an existing database, `setup-schema -v 0.0` leaves a set-up
# one alone, `update-schema` applies only the versions still missing (so upgrading the images
# upgrades the schema).
# Uses the server's own variables: DB, POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, POSTGRES_PWD,
# DBNAME, VISIBILITY_DBNAME.
set -eu
: "${DB:?}" "${POSTGRES_SEEDS:?}" "${DB_PORT:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}" "${DBNAME:?}" "${VISIBILITY_DBNAME:?}"
export SQL_PASSWORD="$POSTGRES_PWD"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

for target in "$DBNAME:temporal" "$VISIBILITY_DBNAME:visibility"; do
  db=${target%%:*}
  schema=${target#*:}
  echo "temporal schema: $db ($schema)"
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$SCHEMA_DIR/$schema/versioned"
done
echo "temporal schema: up to date"
