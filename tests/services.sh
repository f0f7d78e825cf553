#!/usr/bin/env bash
# Makes sure the services the tests talk to are installed and running:
# RabbitMQ on 127.0.0.1:5672 and the OpenSSH server binary (the tests start their own sshd).
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
echo "services: RabbitMQ on 127.0.0.1:5672, sshd at /usr/sbin/sshd"
