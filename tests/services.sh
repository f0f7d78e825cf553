#!/usr/bin/env bash
# Makes sure the services the tests talk to are installed and running:
# RabbitMQ on 127.0.0.1:5672, PostgreSQL on 127.0.0.1:5432 (with the tests' role and
# database "journal"), the OpenSSH server binary (the tests start their own sshd) and
# Chromium for the console's browser tests.
# Installs Debian's packages when missing and this runs as root; starts RabbitMQ when it is
# not listening. Where they already run, it changes nothing. Exits non-zero if it cannot.
set -euo pipefail

port_open() {
  python3 -c "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('127.0.0.1', $1)))"
}

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if ! port_open 5672 && ! command -v rabbitmq-server >/dev/null; then missing+=(rabbitmq-server); fi
if ! command -v rabbitmqctl >/dev/null && [ ! -x /usr/sbin/rabbitmqctl ]; then missing+=(rabbitmq-server); fi
if ! port_open 5432 && ! command -v pg_ctlcluster >/dev/null; then missing+=(postgresql); fi
# Debian's Chromium for the browser tests (Playwright launches it by path; it downloads nothing).
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "services: missing ${missing[*]}; install them or run 'make test' as root" >&2
    exit 1
  fi
  echo "services: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! port_open 5672; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached
  for _ in $(seq 1 120); do
    port_open 5672 && break
    sleep 1
  done
  port_open 5672 || { echo "services: RabbitMQ did not come up on 127.0.0.1:5672" >&2; exit 1; }
  rabbitmqctl await_startup >/dev/null 2>&1 || true
fi

if ! port_open 5432; then
  echo "services: starting PostgreSQL"
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true   # exits 2 when already running
  for _ in $(seq 1 60); do
    port_open 5432 && break
    sleep 1
  done
  port_open 5432 || { echo "services: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
fi
# The tests' own role and database (password "journal", a test credential). Over the local
# socket as the postgres user: peer authentication on a stock Debian cluster.
if ! PGPASSWORD=journal PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -U journal -d journal -XqAtc "SELECT 1" >/dev/null 2>&1; then
  runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -qAt >/dev/null <<'SQL'
SELECT 'CREATE ROLE journal LOGIN PASSWORD ''journal''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'journal')\gexec
SELECT 'CREATE DATABASE journal OWNER journal' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'journal')\gexec
SQL
fi
echo "services: RabbitMQ on 127.0.0.1:5672, PostgreSQL on 127.0.0.1:5432, sshd at /usr/sbin/sshd, chromium at /usr/bin/chromium"
