#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory
# (/docker-entrypoint-initdb.d): next to the application's database (POSTGRES_DB, owned by
# POSTGRES_USER) it creates Temporal's role and its two databases (persistence and visibility),
# owned by that role. Re-running it changes nothing.
#   TEMPORAL_DB_USER, TEMPORAL_DB_PASSWORD  the role the Temporal server and its schema job log in as
#   TEMPORAL_DB_NAMES                       space-separated database names
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=temporal_user="$TEMPORAL_DB_USER" \
  --set=temporal_password="$TEMPORAL_DB_PASSWORD" \
  --set=temporal_dbs="$TEMPORAL_DB_NAMES" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'temporal_user', :'temporal_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'temporal_user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', d, :'temporal_user')
  FROM unnest(string_to_array(trim(:'temporal_dbs'), ' ')) AS d
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \gexec
SQL
