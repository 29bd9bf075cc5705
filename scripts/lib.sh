# shellcheck shell=bash disable=SC2034 # the colours are used by the scripts that source this
# Shared helpers of ./dev and bench/*/run. Source it after `set -euo pipefail` with
# STOA_ROOT set to the repository root.

: "${STOA_ROOT:?STOA_ROOT must be set before sourcing scripts/lib.sh}"

# --- messages: colour only on a terminal, and never when NO_COLOR is set -------------------
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
  c_bold=$'\e[1m' c_red=$'\e[31m' c_green=$'\e[32m' c_yellow=$'\e[33m' c_off=$'\e[0m'
else
  c_bold='' c_red='' c_green='' c_yellow='' c_off=''
fi

say() { printf '%s\n' "${c_bold}==>${c_off} $*"; }
warn() { printf '%s\n' "${c_yellow}warning:${c_off} $*" >&2; }
die() {
  printf '%s\n' "${c_red}error:${c_off} $*" >&2
  exit 1
}

# --- Debian packages ----------------------------------------------------------------------
STOA_PACKAGE_LIST="$STOA_ROOT/scripts/packages.txt"

# Succeeds when scripts/packages.txt has a set of this name.
package_set_exists() {
  awk -v set="$1" '{ sub(/#.*/, "") } NF >= 2 && $1 == set { found = 1 } END { exit !found }' \
    "$STOA_PACKAGE_LIST"
}

# Installs whatever packages of the given sets are missing. Silent when nothing is missing.
# While apt-get runs, a temporary /usr/sbin/policy-rc.d (exit 101) stops maintainer scripts
# from starting system-wide daemons (nginx, prometheus, postgresql …): tests and benches
# start their own servers on loopback.
ensure_packages() {
  local set
  local -a wanted=() missing=() sudo=()
  for set in "$@"; do
    package_set_exists "$set" || die "scripts/packages.txt has no package set '$set'"
  done
  mapfile -t wanted < <(awk -v sets=" $* " '{ sub(/#.*/, "") }
      NF >= 2 && index(sets, " " $1 " ") { print $2 }' "$STOA_PACKAGE_LIST" | sort -u)
  command -v dpkg-query >/dev/null ||
    die "./dev installs with Debian's apt; without it, install these yourself: ${wanted[*]}"
  mapfile -t missing < <(missing_packages "${wanted[@]}")
  [[ ${#missing[@]} -eq 0 ]] && return 0

  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null ||
      die "missing Debian packages: ${missing[*]} (run as root, or install sudo)"
    sudo=(sudo)
  fi
  say "installing Debian packages: ${missing[*]}"
  # A subshell, so that its EXIT trap removes policy-rc.d on success, failure and Ctrl-C.
  (
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
      trap '"${sudo[@]}" rm -f "$policy"' EXIT
      trap 'exit 130' INT
      trap 'exit 143' TERM
      printf '#!/bin/sh\n# Written by Stoa ./dev for one apt-get run: start no daemons.\nexit 101\n' |
        "${sudo[@]}" tee "$policy" >/dev/null
      "${sudo[@]}" chmod 755 "$policy"
    fi
    apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
    if [[ -z ${STOA_APT_UPDATED:-} ]]; then
      "${apt[@]}" update
    fi
    "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
  ) || die "apt-get could not install: ${missing[*]}"
  export STOA_APT_UPDATED=1

  mapfile -t missing < <(missing_packages "${missing[@]}")
  [[ ${#missing[@]} -eq 0 ]] || die "still not installed: ${missing[*]}"
}

# missing_packages PACKAGE…: prints those that dpkg does not report as installed.
missing_packages() {
  dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
    awk 'BEGIN { for (i = 1; i < ARGC; i++) want[ARGV[i]] = 1; ARGC = 1 }
      $2 " " $3 " " $4 == "install ok installed" { delete want[$1] }
      END { for (p in want) print p }' "$@"
}

# --- processes and ports -------------------------------------------------------------------
_stoa_ports_taken=" "

# free_port VAR: stores in VAR a TCP port on 127.0.0.1 that nothing listens on, below the
# kernel's ephemeral range (so no client socket takes it), and not handed out before.
free_port() {
  local port _
  for _ in $(seq 1 200); do
    port=$((20000 + (RANDOM % 12000)))
    [[ $_stoa_ports_taken == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      _stoa_ports_taken+="$port "
      printf -v "$1" '%s' "$port"
      return 0
    fi
  done
  die "found no free TCP port on 127.0.0.1"
}

# wait_http PID URL SECONDS: waits until URL answers 2xx, while process PID lives.
wait_http() {
  local pid=$1 url=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5); reaps the child.
stop_pid() {
  local pid=$1 tenths=$((${2:-5} * 10))
  kill -TERM "$pid" 2>/dev/null || return 0
  while ((tenths-- > 0)) && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
