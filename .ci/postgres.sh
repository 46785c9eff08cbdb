# Sourced by .ci/run: a PostgreSQL server for the store's tests, never a silent skip.
#
# ensure_postgres exports TAP_PG_URL: the server it names (default: the machine's own at
# 127.0.0.1:5432, user postgres, database test) when it answers, else a server of our own
# started in a temporary directory (initdb and pg_ctl, as a non-root user when run as root),
# stopped by stop_postgres. It says which it used, and fails when neither works.

own_pg_dir=""
own_pg_user=""

pg_answers() {
    if command -v psql >/dev/null; then
        psql "$1" -qAtc 'SELECT 1' >/dev/null 2>&1
    else
        pg_isready -q -d "$1"
    fi
}

pg_bin() {
    local initdb
    initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
    [ -n "$initdb" ] || { echo "no initdb: install PostgreSQL's server binaries" >&2; return 1; }
    dirname "$(readlink -f "$initdb")"
}

as_pg_user() {
    if [ -n "$own_pg_user" ]; then runuser -u "$own_pg_user" -- "$@"; else "$@"; fi
}

ensure_postgres() {
    local url="${TAP_PG_URL:-host=127.0.0.1 port=5432 user=postgres dbname=test}"
    if pg_answers "$url"; then
        echo "PostgreSQL: the running server ($url)"
        export TAP_PG_URL="$url"
        return 0
    fi
    echo "PostgreSQL: nothing answers at $url; starting a server of our own"
    local bin port
    bin=$(pg_bin) || return 1
    own_pg_dir=$(mktemp -d /tmp/tap-ci-postgres.XXXXXX)
    chmod 755 "$own_pg_dir"
    if [ "$(id -u)" = 0 ]; then
        # initdb refuses to run as root.
        own_pg_user=$(id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody)
        chown "$own_pg_user" "$own_pg_dir"
    fi
    port=55432
    while pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; do port=$((port + 1)); done
    as_pg_user "$bin/initdb" -D "$own_pg_dir/data" -A trust -U postgres >"$own_pg_dir/initdb.log" 2>&1 \
        || { cat "$own_pg_dir/initdb.log"; return 1; }
    as_pg_user "$bin/pg_ctl" -D "$own_pg_dir/data" -l "$own_pg_dir/server.log" -w \
        -o "-p $port -k $own_pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" start \
        || { cat "$own_pg_dir/server.log"; return 1; }
    as_pg_user "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres test
    export TAP_PG_URL="host=127.0.0.1 port=$port user=postgres dbname=test"
    pg_answers "$TAP_PG_URL" || { echo "our own server does not answer" >&2; return 1; }
    echo "PostgreSQL: our own server, $($bin/postgres --version), at $TAP_PG_URL"
}

stop_postgres() {
    if [ -n "$own_pg_dir" ]; then
        as_pg_user "$(pg_bin)/pg_ctl" -D "$own_pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$own_pg_dir"
    fi
}
