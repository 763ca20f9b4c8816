#!/usr/bin/env bash
# What `make test` needs on this machine, installed or started when missing:
#   - Chromium (Debian's package) for the report's and the console's in-browser tests, with
#     fonts that carry Thai (fonts-thai-tlwg; Vietnamese and Greek are in DejaVu),
#   - GNU gettext, with which a test checks that every string marked is translated,
#   - Java 17 for the PySpark engine tests,
#   - PostgreSQL at RETAIN_TEST_DATABASE_URL (started when stopped) and its database (created
#     when missing) for the engine tests and the store tests' second run.
# What it cannot do (not root, no apt-get, no PostgreSQL installed) it says in one line and
# stops, so the tests never fail halfway for a missing tool.
set -euo pipefail
url="${RETAIN_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
python="${1:-.venv/bin/python}"

stop() { echo "make test: $*" >&2; exit 1; }

updated=""
apt_install() {  # apt_install PACKAGE WHY
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        stop "$2 is missing; install it (Debian: apt-get install $1), then run make test again"
    fi
    if [ -z "$updated" ]; then apt-get update -qq; updated=1; fi
    echo "make test: installing $1 ($2)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

[ -x /usr/bin/chromium ] || apt_install chromium "Chromium (/usr/bin/chromium, for the report's page tests)"
fc-list :lang=th 2>/dev/null | grep -q . || apt_install fonts-thai-tlwg "fonts with Thai glyphs (for the console's Thai pages)"
command -v xgettext >/dev/null || apt_install gettext "GNU gettext (xgettext, for the translation test)"
command -v java >/dev/null || apt_install openjdk-17-jre-headless "Java 17 (for the PySpark engine tests)"

# The URL's parts, read by the same library the tests connect with.
parts="$("$python" - "$url" 2>&1 <<'PY'
import sys
from psycopg.conninfo import conninfo_to_dict
try:
    parts = conninfo_to_dict(sys.argv[1])
except Exception as error:
    sys.exit(str(error).strip().splitlines()[-1])
print(parts.get("host") or "127.0.0.1", parts.get("port") or 5432, parts.get("user") or "postgres",
      parts.get("dbname") or "test")
PY
)" || stop "RETAIN_TEST_DATABASE_URL ($url) cannot be read: ${parts##*$'\n'}"
read -r host port user dbname <<<"$parts"

if ! pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
    local_host=""
    case "$host" in 127.0.0.1|localhost|::1) local_host=1 ;; esac
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    if [ -z "$local_host" ] || [ -z "$version" ] || ! command -v pg_ctlcluster >/dev/null; then
        stop "no PostgreSQL answers at $host:$port; install and start PostgreSQL (Debian: apt-get install postgresql, trust for $user on $host) or set RETAIN_TEST_DATABASE_URL"
    fi
    if [ "$(id -u)" != 0 ]; then
        stop "PostgreSQL $version is stopped; start it (sudo pg_ctlcluster $version main start), then run make test again"
    fi
    echo "make test: starting PostgreSQL $version" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && break; sleep 1; done
    pg_isready -q -h "$host" -p "$port" || stop "no PostgreSQL answers at $host:$port after starting PostgreSQL $version (see /var/log/postgresql and its port); or set RETAIN_TEST_DATABASE_URL"
fi

# The test database, created when missing (from the server's maintenance database).
"$python" - "$url" "$dbname" <<'PY' || exit 1
import sys

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

url, name = sys.argv[1:]
maintenance = make_conninfo(**{**conninfo_to_dict(url), "dbname": "postgres"})
try:
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = "SELECT 1 FROM pg_database WHERE datname = %s"
        if connection.execute(exists, [name]).fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"make test: created the test database {name}", file=sys.stderr)
except psycopg.Error as error:
    reason = (str(error).strip().splitlines() or [type(error).__name__])[-1]
    sys.exit(f"make test: cannot create the test database {name} at {url}: {reason}")
PY
