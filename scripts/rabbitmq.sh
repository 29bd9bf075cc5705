# shellcheck shell=bash
# A throwaway rabbitmq-server on loopback, for scripts/test-servers and bench/events/run.
# Source it after scripts/lib.sh. Everything lives under DIR/rabbitmq: its database, logs,
# config and HOME (Erlang's cookie). Node stoa-test-PORT@localhost; the AMQP, distribution
# and epmd ports all on 127.0.0.1; no plugins. Debian's /usr/sbin wrapper switches to the
# rabbitmq user; the script it wraps runs as whoever starts it (root included), which keeps
# every file in DIR.
RABBITMQ_BIN=${STOA_RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}

# rabbitmq_env DIR AMQP_PORT DIST_PORT EPMD_PORT: the environment the node and epmd run with.
rabbitmq_env() {
  local r=$1/rabbitmq
  printf '%s\n' "HOME=$r/home" "RABBITMQ_NODENAME=stoa-test-$2@localhost" \
    "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" "RABBITMQ_NODE_PORT=$2" "RABBITMQ_DIST_PORT=$3" \
    "ERL_EPMD_PORT=$4" "ERL_EPMD_ADDRESS=127.0.0.1" "RABBITMQ_MNESIA_BASE=$r/mnesia" \
    "RABBITMQ_LOG_BASE=$r/log" "RABBITMQ_CONFIG_FILE=$r/rabbitmq.conf" \
    "RABBITMQ_ADVANCED_CONFIG_FILE=$r/advanced.config" \
    "RABBITMQ_CONF_ENV_FILE=$r/rabbitmq-env.conf" \
    "RABBITMQ_ENABLED_PLUGINS_FILE=$r/enabled_plugins" "RABBITMQ_PID_FILE=$r/rabbitmq.pid" \
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
}

# rabbitmq_answers PORT: RabbitMQ answers the AMQP 0-9-1 protocol header with
# connection.start, a method frame: its first byte is 1.
rabbitmq_answers() {
  local byte
  # shellcheck disable=SC2016 # expanded by the inner bash
  byte=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "AMQP\0\0\11\1" >&3 &&
    head -c 1 <&3 | od -An -tu1' _ "$1" 2>/dev/null) || return 1
  [[ ${byte// /} == 1 ]]
}

# rabbitmq_write_config DIR PORT: the node's configuration files (kept across restarts).
rabbitmq_write_config() {
  local r=$1/rabbitmq
  [[ -f $r/rabbitmq.conf ]] && return 0
  mkdir -p "$r/home" "$r/mnesia" "$r/log"
  {
    echo "# Written by Stoa's scripts: a throwaway node on loopback."
    echo "listeners.tcp.default = 127.0.0.1:$2"
    echo "disk_free_limit.absolute = 50MB"
    echo "log.console = false"
    echo "log.file.level = warning"
  } >"$r/rabbitmq.conf"
  echo '[].' >"$r/enabled_plugins"
  echo '[].' >"$r/advanced.config"
  : >"$r/rabbitmq-env.conf"
}

# rabbitmq_start DIR AMQP_PORT DIST_PORT EPMD_PORT: starts the node (and its epmd) and waits
# until it answers, at most 90 s.
rabbitmq_start() {
  local dir=$1 r=$1/rabbitmq amqp=$2 dist=$3 epmd=$4
  local -a env
  rabbitmq_write_config "$dir" "$amqp"
  mapfile -t env < <(rabbitmq_env "$dir" "$amqp" "$dist" "$epmd")
  # epmd first, on loopback only (the node would otherwise start one on every interface).
  env "${env[@]}" epmd -daemon -address 127.0.0.1 -port "$epmd"
  (
    cd "$r"
    exec env "${env[@]}" setsid "$RABBITMQ_BIN/rabbitmq-server" </dev/null \
      >"$r/log/startup.log" 2>&1
  ) &
  echo $! >"$r/script.pid"
  local _
  for _ in $(seq 1 900); do
    rabbitmq_answers "$amqp" && return 0
    kill -0 "$(cat "$r/script.pid")" 2>/dev/null || break
    sleep 0.1
  done
  die "rabbitmq-server did not start on 127.0.0.1:$amqp (logs: $r/log)"
}

# rabbitmq_stop DIR [SIGNAL]: TERM is a clean shutdown (Erlang's init:stop), KILL a crash.
rabbitmq_stop() {
  local r=$1/rabbitmq signal=${2:-TERM} pid _
  pid=$(cat "$r/rabbitmq.pid" 2>/dev/null) || pid=''
  if [[ -n $pid ]]; then
    kill -"$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 600); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  pid=$(cat "$r/script.pid" 2>/dev/null) || pid=''
  [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$r/rabbitmq.pid" "$r/script.pid"
}

# rabbitmq_stop_epmd EPMD_PORT: the node's own epmd, found by its port (others may run one).
rabbitmq_stop_epmd() {
  [[ -n ${1:-} ]] || return 0
  epmd -port "$1" -kill >/dev/null 2>&1 || true
}
