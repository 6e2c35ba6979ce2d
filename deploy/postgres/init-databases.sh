#!/bin/sh
# Creates one role and one database per service, owned by that role; run by the postgres image
# on the first start of an empty data volume (/docker-entrypoint-initdb.d/). A service's role can
# connect to its own database only: no service reads another's tables (docs/architecture.md #2).
#
# Needs <NAME>_DB_PASSWORD in the environment of the postgres container for each name of
# HEALTHCARE_DATABASES, which defaults to the three services that own tables (admin owns none):
# AUTH_DB_PASSWORD, APPOINTMENTS_DB_PASSWORD, PRESCRIPTIONS_DB_PASSWORD. Later changes of these
# variables do not reach an existing volume: change a password with ALTER ROLE
# (docs/deployment.md).
set -eu

for service in ${HEALTHCARE_DATABASES:-auth appointments prescriptions}; do
  variable="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password="$(printenv "$variable" || true)"
  if [ -z "$password" ]; then
    echo "init-databases: $variable is not set" >&2
    exit 1
  fi
  echo "init-databases: role and database \"$service\""
  # psql variables (:'password') quote the value as an SQL literal: no injection through it.
  psql --no-psqlrc --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set service="$service" --set password="$password" <<'SQL'
CREATE ROLE :"service" LOGIN PASSWORD :'password';
CREATE DATABASE :"service" OWNER :"service" ENCODING 'UTF8';
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;
SQL
  # PostgreSQL < 15 lets every role create objects in `public`; the owner alone may, from now on.
  psql --no-psqlrc --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$service" \
    --set service="$service" <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO :"service";
SQL
done
