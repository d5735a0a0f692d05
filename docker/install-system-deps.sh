#!/usr/bin/env bash
# System packages nicheflow needs and pip cannot provide:
#   espeak-ng       the offline voice (pt-BR and English) and libespeak-ng for word timings
#   postgresql      server binaries for the embedded database (skipped when DATABASE_URL is set, and in --image)
#   chromium        only with --test: the headless browser the Review page tests drive (through Playwright)
#   redis           with --celery or --test: the broker of CeleryExecutor (`make run EXECUTOR=celery`, its tests)
#   docker-compose  only with --test: Debian's docker-compose 1.29, which checks docker/compose.yaml
#                   (`docker-compose config`) without a Docker engine
# Modes: no flag (what `make` installs), --celery (make run EXECUTOR=celery), --test (make test), --image
# (docker/Dockerfile: only what the image needs at run time; no PostgreSQL server and no Redis, each is a
# service of its own; apt lists are removed after).
# Installs what is missing with apt-get when run as root; otherwise says exactly what to run.
set -euo pipefail
mode="${1:-}"
case "$mode" in "" | --celery | --test | --image) ;; *) echo "usage: $0 [--celery|--test|--image]" >&2; exit 2 ;; esac
missing=()
ldconfig -p 2>/dev/null | grep -q libespeak-ng.so.1 || missing+=(espeak-ng)
if [ "$mode" != "--image" ] && [ -z "${DATABASE_URL:-}" ] \
  && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null; then
  missing+=(postgresql)
fi
if [ "$mode" = "--test" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
fi
if { [ "$mode" = "--test" ] || [ "$mode" = "--celery" ]; } && ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  missing+=(redis-server)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$mode" = "--image" ]; then
    # an image starts with no package lists, and should not keep them
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    apt-get clean
    rm -rf /var/lib/apt/lists/*
  else
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
  fi
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "nicheflow needs these system packages: ${missing[*]}" >&2
  echo "install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and run make again." >&2
  exit 1
fi
