#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1 before the test suite runs; start
# them where they are installed but down. Prints what it did; exits non-zero if a
# service cannot be reached.
set -u
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

pg_up() { pg_isready -h "$PGHOST" -p "$PGPORT" -q 2>/dev/null; }
redis_up() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    (exec 3<>/dev/tcp/127.0.0.1/"$REDIS_PORT") 2>/dev/null
  fi
}

if ! pg_up; then
  echo "PostgreSQL is not answering on $PGHOST:$PGPORT; starting it"
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL is unreachable on $PGHOST:$PGPORT" >&2; exit 1; }

if ! redis_up; then
  echo "Redis is not answering on 127.0.0.1:$REDIS_PORT; starting it"
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
      --appendonly no || true
  fi
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi
redis_up || { echo "Redis is unreachable on 127.0.0.1:$REDIS_PORT" >&2; exit 1; }
echo "PostgreSQL and Redis are up"
