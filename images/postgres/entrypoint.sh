#!/bin/sh
# Starts PostgreSQL with the contract of the official postgres image that the postgres subchart
# relies on: on an empty PGDATA, initdb with POSTGRES_USER and POSTGRES_PASSWORD, then every
# /docker-entrypoint-initdb.d/*.sh (run, or sourced when not executable) and *.sql against a
# server reachable only on its socket; then the server on every address. Passwords go through a
# private temporary file, never a command line.
set -eu

if [ "${1:-postgres}" != postgres ]; then
    exec "$@"  # e.g. psql or a shell for debugging
fi
[ "$#" -gt 0 ] && shift

: "${PGDATA:?PGDATA must name the data directory}"
superuser=${POSTGRES_USER:-postgres}
socket_dir=/var/run/postgresql

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres-entrypoint: POSTGRES_PASSWORD is empty; it is needed to initialise $PGDATA" >&2
        exit 1
    fi
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    pwfile=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
    # Local (socket) connections by the same OS user only; every network connection by password.
    initdb --pgdata="$PGDATA" --username="$superuser" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256
    rm -f "$pwfile"
    printf '%s\n' "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"

    pg_ctl --pgdata="$PGDATA" --wait --silent -o "-c listen_addresses='' -k $socket_dir" start
    for script in /docker-entrypoint-initdb.d/*; do
        case $script in
            *.sh)
                echo "postgres-entrypoint: running $script"
                if [ -x "$script" ]; then "$script"; else . "$script"; fi
                ;;
            *.sql)
                echo "postgres-entrypoint: running $script"
                psql -v ON_ERROR_STOP=1 --username="$superuser" --dbname=postgres --file="$script"
                ;;
            *) ;;  # the glob itself when the folder is empty, or anything else
        esac
    done
    pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
    echo "postgres-entrypoint: initialised $PGDATA"
fi

# The kubelet may have given the volume the pod's fsGroup (group rwx and setgid on folders) since
# the last start: PostgreSQL refuses a PGDATA that is not 0700 or 0750.
chmod 0700 "$PGDATA"
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories="$socket_dir" "$@"
