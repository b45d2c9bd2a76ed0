# Start a throwaway PostgreSQL for the test-suite and export BREACHRADAR_TEST_POSTGRES.
#
# Source it (". .ci/postgres.sh") so the variable reaches the tests. Installs the
# distribution's PostgreSQL when its server binaries are missing (fresh Debian CI image),
# creates a cluster in a temporary folder, trusts connections from 127.0.0.1 only and
# starts it on BREACHRADAR_CI_PG_PORT (default 55432). PostgreSQL refuses to run as root,
# so under root the cluster belongs to the "postgres" user the package creates.

breachradar_pg_start() {
    # No "set -e" here: this file is sourced and must not change the caller's options.
    local sudo="" run_as="" bindir datadir port
    if [ "$(id -u)" != 0 ]; then
        sudo="sudo"
    fi
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        $sudo apt-get update || return 1
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends \
            postgresql || return 1
    fi
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    port=${BREACHRADAR_CI_PG_PORT:-55432}
    datadir=$(mktemp -d /tmp/breachradar-ci-pg.XXXXXX) || return 1
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$datadir" || return 1
        run_as="runuser -u postgres --"
    fi
    $run_as "$bindir/initdb" -D "$datadir/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$datadir/initdb.log" || return 1
    $run_as "$bindir/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$datadir -c max_connections=200" \
        start || { cat "$datadir/server.log"; return 1; }
    # Stopped when the caller exits, passing or failing, so a rerun finds its port free.
    # shellcheck disable=SC2064  # expanded now: the locals are gone by then
    trap "$run_as '$bindir/pg_ctl' -D '$datadir/data' -m fast stop >/dev/null 2>&1 || true" EXIT
    export BREACHRADAR_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $BREACHRADAR_TEST_POSTGRES (data in $datadir)"
}

breachradar_pg_start || { echo "could not start PostgreSQL" >&2; return 1 2>/dev/null || exit 1; }
