#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory
# (/docker-entrypoint-initdb.d): the application's roles, from deploy/postgres/roles.sql. The
# superuser (POSTGRES_USER) owns the tables and runs the migrations; the main role and the
# assignment service's role log in with the passwords given here. Re-running it changes nothing.
#   APP_DB_USER, APP_DB_PASSWORD                 the API's, the worker's, the notifier's, the codec's
#   ASSIGNMENT_DB_USER, ASSIGNMENT_DB_PASSWORD   the assignment service's (its schema only)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=owner_role="$POSTGRES_USER" \
  --set=app_role="$APP_DB_USER" \
  --set=app_password="$APP_DB_PASSWORD" \
  --set=assignment_role="$ASSIGNMENT_DB_USER" \
  --set=assignment_password="$ASSIGNMENT_DB_PASSWORD" \
  --file=/etc/tshop/roles.sql
