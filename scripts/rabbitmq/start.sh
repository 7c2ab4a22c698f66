#!/usr/bin/env bash
# Installs (when missing) and starts Debian's rabbitmq-server on localhost:5672 (guest/guest), for
# `pipeline serve --queue amqp://guest:guest@localhost:5672/` and the queue tests. Idempotent: a broker already
# listening is left alone. Works without systemd (CI runs as root in a container): the node is started detached.
set -euo pipefail

port_open() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if port_open; then echo "rabbitmq: already listening on 5672"; exit 0; fi

if [ ! -x /usr/sbin/rabbitmq-server ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "rabbitmq: installing Debian's rabbitmq-server"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq rabbitmq-server >/dev/null
fi

# Erlang's schedulers busy-wait by default, which on a small shared machine takes CPU from the engine.
env_conf=/etc/rabbitmq/rabbitmq-env.conf
if [ -w /etc/rabbitmq ] && ! grep -q sbwt "$env_conf" 2>/dev/null; then
  echo 'SERVER_ADDITIONAL_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none"' >> "$env_conf"
fi

# The package may have started it already (where init scripts run); otherwise start the node detached.
for _ in $(seq 1 10); do port_open && break; sleep 1; done
if ! port_open; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo /usr/sbin/rabbitmq-server -detached
fi
for _ in $(seq 1 120); do port_open && break; sleep 1; done
port_open || { echo "rabbitmq: the broker did not start listening on 5672 within 120 s" >&2; exit 1; }
rabbitmqctl -q await_startup >/dev/null 2>&1 || true
echo "rabbitmq: listening on 5672"
