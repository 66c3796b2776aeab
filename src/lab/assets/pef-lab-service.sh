#!/bin/bash
# pef-lab-service: the service layer of a pef lab host, which has no systemd.
# Starts the packages' own unit-file command lines, tracks them by pid files in this host's
# private /run (never by process name: every lab host shares the machine's process table),
# and waits for readiness the way the units do (trapperkeeper restart file, pg_ctlcluster, pid file).
#
#   pef-lab-service {start|stop|restart|reload|status|enable|disable|is-enabled} SERVICE
# enable/disable mark what `pef lab start HOST` boots (systemctl's meaning: start at boot, not now);
# is-enabled exits 0 for enabled, 1 for disabled, as systemctl does.
# SERVICE: sshd, puppet, and on an oss host puppetserver, puppetdb, postgresql; on a host of the
# `pe` profile (/opt/puppetlabs/server/pe_version exists) PE's names instead: pe-puppetserver,
# pe-puppetdb, pe-postgresql, and pe-console-services (the lab's classifier stand-in).
# pef-replication (either flavor) runs the replication jobs install_replication registered in
# /etc/pef/jobs/*.job, as systemd's path and timer units would: one supervisor polls each job's
# watched paths five times a second and runs its script when one changed or its interval passed.
#
# Exit codes, as systemctl answers them (LSB's): status: 0 running, 1 dead but pid file left,
# 3 stopped, 4 a service this host does not have (not installed, or a name the shim does not
# know, e.g. pe-puppetserver on an oss host), as `systemctl status` answers for an unknown unit.
# Other actions: 0 done (start of a running or stop of a stopped service is a no-op), 1 failed,
# 2 usage error, 7 reload of a stopped service, 5 a service this host does not have (as
# `systemctl start` answers for an unknown unit: LSB's "not installed").
# PEF_LAB_SERVICE_TIMEOUT (seconds, default 300) bounds waits.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
TIMEOUT=${PEF_LAB_SERVICE_TIMEOUT:-300}

usage() {
  echo "usage: pef-lab-service {start|stop|restart|reload|status|enable|disable|is-enabled} {puppetserver|puppetdb|postgresql|sshd|puppet|pe-puppetserver|pe-puppetdb|pe-postgresql|pe-console-services|pef-replication}" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
svc=$2

[ "$svc" = ssh ] && svc=sshd
[ -r /opt/puppetlabs/server/pe_version ] && flavor=pe || flavor=oss

# What implements each name on this host: kind, service user, config dir, run dir, log dir, defaults file.
STANDINS=/opt/puppetlabs/server/apps/pef-lab-standins
# Under the host's /var overlay, so it survives `pef lab stop` / `pef lab start` as a disk would.
ENABLED=/var/lib/pef-lab-service/enabled
case "$flavor:$svc" in
  oss:puppetserver) kind=puppetserver user=puppet conf=/etc/puppet/puppetserver run=/run/puppetserver log=/var/log/puppetserver defaults=/etc/default/puppetserver ;;
  oss:puppetdb) kind=puppetdb user=puppetdb conf=/etc/puppetdb run=/run/puppetdb log=/var/log/puppetdb defaults=/etc/default/puppetdb ;;
  oss:postgresql | pe:pe-postgresql) kind=postgresql ;;
  pe:pe-puppetserver) kind=puppetserver user=pe-puppet conf=/etc/puppetlabs/puppetserver run=/run/puppetlabs/puppetserver log=/var/log/puppetlabs/puppetserver defaults=/etc/default/pe-puppetserver ;;
  pe:pe-puppetdb) kind=puppetdb user=pe-puppetdb conf=/etc/puppetlabs/puppetdb run=/run/puppetlabs/puppetdb log=/var/log/puppetlabs/puppetdb defaults=/etc/default/pe-puppetdb ;;
  pe:pe-console-services) kind=classifier user=pe-console-services run=/run/puppetlabs/console-services log=/var/log/puppetlabs/console-services defaults=/etc/default/pe-console-services ;;
  *:pef-replication) kind=jobs run=/run/pef-lab-jobs ;;
  *:sshd) kind=sshd ;;
  *:puppet) kind=puppet ;;
  *) kind=unknown ;;
esac

pg_cluster() { pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1, $2}'; }
pg_owner() { pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $5}'; }

pidfile() {
  case $kind in
    puppetserver | puppetdb | classifier) echo "$run/pid" ;;
    postgresql) set -- $(pg_cluster); echo "/run/postgresql/$1-$2.pid" ;;
    sshd) echo /run/sshd.pid ;;
    puppet) echo /run/puppet/pef-lab-agent.pid ;;
    jobs) echo "$run/pid" ;;
  esac
}

# What the process must be running, so a recycled pid is never mistaken for the service.
exe_pattern() {
  case $kind in
    puppetserver | puppetdb) echo '/java$' ;;
    classifier) echo '/node$' ;;
    postgresql) echo '/postgres$' ;;
    sshd) echo '/sshd$' ;;
    puppet) echo '/ruby[0-9.]*$' ;;
    jobs) echo '/bash$' ;;
  esac
}

# Prints the pid and returns 0 if the service runs; returns 1 for a stale pid file, 3 for none.
running_pid() {
  local f pid exe
  f=$(pidfile)
  [ -s "$f" ] || return 3
  pid=$(head -n1 "$f" | tr -dc 0-9)
  [ -n "$pid" ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  grep -qE "$(exe_pattern)" <<<"$exe" || return 1
  # A zombie is not running.
  [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != Z ] || return 1
  echo "$pid"
}

installed() {
  case $kind in
    puppetserver) [ -f /usr/share/puppetserver/puppetserver.jar ] && [ -d "$conf/conf.d" ] ;;
    puppetdb) [ -f /usr/share/puppetdb/puppetdb.jar ] && [ -d "$conf/conf.d" ] ;;
    classifier) [ -f "$STANDINS/src/lab/pe-standins/classifier-standin-main.js" ] && [ -r "$defaults" ] ;;
    postgresql) [ -n "$(pg_cluster)" ] ;;
    sshd) [ -x /usr/sbin/sshd ] ;;
    puppet) command -v puppet >/dev/null ;;
    jobs) [ -n "$(find /etc/pef/jobs -maxdepth 1 -name '*.job' -print -quit 2>/dev/null)" ] ;;
  esac
}

# Waits until the trapperkeeper restart file reads 1 (the units' ExecStartPost), or the JVM dies.
wait_restart_file() {
  local run=$1 pid=$2 waited=0
  until [ "$(head -c1 "$run/restart" 2>/dev/null)" = 1 ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "pef-lab-service: $svc (pid $pid) exited while starting; see $log/" >&2
      return 1
    fi
    if [ "$waited" -ge "$TIMEOUT" ]; then
      echo "pef-lab-service: $svc not ready after ${TIMEOUT}s; see $log/; its last lines:" >&2
      tail -n 5 "$log"/*.log >&2 2>/dev/null
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

start_jvm() {
  install -d -o "$user" -g "$user" -m 755 "$run"
  [ -d "$log" ] || install -d -o "$user" -g "$user" -m 750 "$log"
  printf 0 >"$run/restart"
  chown "$user:$user" "$run/restart"
  JAVA_ARGS='' TK_ARGS=''
  # shellcheck disable=SC1090
  [ -r "$defaults" ] && . "$defaults"
  cd /
  # setsid, not nohup: nohup would make the JVM ignore SIGHUP, which is how reload works.
  if [ "$kind" = puppetserver ]; then
    umask 027
    # shellcheck disable=SC2086
    setsid setpriv --reuid="$user" --regid="$user" --init-groups -- /usr/bin/java $JAVA_ARGS \
      -Djruby.lib=/usr/share/jruby/lib -XX:+CrashOnOutOfMemoryError \
      -XX:ErrorFile="$log/puppetserver_err_pid%p.log" \
      -jar /usr/share/puppetserver/puppetserver.jar --config "$conf/conf.d" \
      --bootstrap-config "$conf/services.d" --restart-file "$run/restart" $TK_ARGS \
      </dev/null >>"$log/console.log" 2>&1 &
  else
    # shellcheck disable=SC2086
    setsid setpriv --reuid="$user" --regid="$user" --init-groups -- /usr/bin/java $JAVA_ARGS \
      -Djava.security.egd=/dev/urandom '-XX:OnOutOfMemoryError=kill -9 %p' \
      -cp /usr/share/puppetdb/puppetdb.jar clojure.main -m puppetlabs.puppetdb.core services \
      --config "$conf/conf.d" --bootstrap-config "$conf/bootstrap.cfg" \
      --restart-file "$run/restart" </dev/null >>"$log/console.log" 2>&1 &
  fi
  echo $! >"$run/pid"
  wait_restart_file "$run" $!
}

# The classifier stand-in (node); ready once it prints "listening on".
start_classifier() {
  install -d -o "$user" -g "$user" -m 755 "$run"
  [ -d "$log" ] || install -d -o "$user" -g "$user" -m 750 "$log"
  CLASSIFIER_ARGS=''
  # shellcheck disable=SC1090
  . "$defaults"
  local console="$log/console.log" from waited=0
  touch "$console"
  chown "$user:$user" "$console"
  from=$(($(stat -c %s "$console") + 1))
  cd /
  # shellcheck disable=SC2086
  setsid setpriv --reuid="$user" --regid="$user" --init-groups -- /usr/bin/node \
    "$STANDINS/src/lab/pe-standins/classifier-standin-main.js" $CLASSIFIER_ARGS </dev/null >>"$console" 2>&1 &
  local pid=$!
  echo "$pid" >"$run/pid"
  until tail -c +"$from" "$console" | grep -q 'listening on'; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "pef-lab-service: $svc (pid $pid) exited while starting:" >&2
      tail -c +"$from" "$console" >&2
      return 1
    fi
    [ "$waited" -lt $((TIMEOUT * 10)) ] || { echo "pef-lab-service: $svc not ready after ${TIMEOUT}s; see $console" >&2; return 1; }
    sleep 0.1
    waited=$((waited + 1))
  done
}

# The jobs' supervisor: runs a job's script when a watched path's inode, size or mtime changed,
# or its interval passed; one job at a time, each pass's output appended to the jobs' log.
supervise_jobs() {
  declare -A seen due
  local f job script interval watch now sig
  while :; do
    for f in /etc/pef/jobs/*.job; do
      [ -f "$f" ] || continue
      job=$(basename "$f" .job)
      script=$(sed -n 's/^script=//p' "$f")
      interval=$(sed -n 's/^interval=//p' "$f" | tr -dc 0-9)
      watch=$(sed -n 's/^watch=//p' "$f")
      # shellcheck disable=SC2086
      sig=$(stat -c '%n %i %s %Y %y' $watch 2>/dev/null | md5sum)
      now=$(date +%s)
      if [ "${seen[$job]:-}" != "$sig" ] || [ "$now" -ge "${due[$job]:-0}" ]; then
        seen[$job]=$sig
        due[$job]=$((now + ${interval:-60}))
        [ -x "$script" ] && "$script" </dev/null >>/var/log/pef-replication.log 2>&1
      fi
    done
    sleep 0.2
  done
}

do_start() {
  running_pid >/dev/null && return 0
  case $kind in
    jobs)
      install -d -m 700 "$run"
      cd /
      setsid /bin/bash "$0" supervise "$svc" </dev/null >>/var/log/pef-replication.log 2>&1 &
      echo $! >"$run/pid"
      sleep 0.2
      running_pid >/dev/null
      ;;
    puppetserver | puppetdb) start_jvm ;;
    classifier) start_classifier ;;
    postgresql)
      local owner
      owner=$(pg_owner)
      install -d -o "$owner" -g "$owner" -m 2775 /run/postgresql
      pg_ctlcluster $(pg_cluster) start
      ;;
    sshd)
      install -d -m 755 /run/sshd
      /usr/sbin/sshd -t && /usr/sbin/sshd || return 1
      local waited=0
      until running_pid >/dev/null; do
        [ "$waited" -lt 100 ] || return 1
        sleep 0.1
        waited=$((waited + 1))
      done
      ;;
    puppet)
      PUPPET_EXTRA_OPTS=''
      # shellcheck disable=SC1091
      [ -r /etc/default/puppet ] && . /etc/default/puppet
      install -d -m 755 /run/puppet
      cd /
      # shellcheck disable=SC2086
      setsid puppet agent $PUPPET_EXTRA_OPTS --no-daemonize </dev/null >>/var/log/puppet/agent-console.log 2>&1 &
      echo $! >/run/puppet/pef-lab-agent.pid
      sleep 1
      running_pid >/dev/null
      ;;
  esac
}

do_stop() {
  local pid waited=0
  if [ "$kind" = postgresql ]; then
    running_pid >/dev/null || return 0
    pg_ctlcluster $(pg_cluster) stop -m fast
    return
  fi
  pid=$(running_pid) || { rm -f "$(pidfile)"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null && [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != Z ]; do
    if [ "$waited" -ge 600 ]; then kill -KILL "$pid" 2>/dev/null; break; fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$(pidfile)"
}

do_reload() {
  local pid
  pid=$(running_pid) || { echo "pef-lab-service: $svc is not running" >&2; return 7; }
  case $kind in
    puppetserver | puppetdb)
      printf 0 >"$run/restart"
      kill -HUP "$pid"
      wait_restart_file "$run" "$pid"
      ;;
    # The stand-in reads its files at start: a reload is a restart.
    classifier) do_stop && do_start ;;
    postgresql) pg_ctlcluster $(pg_cluster) reload ;;
    sshd) /usr/sbin/sshd -t && kill -HUP "$pid" ;;
    puppet) kill -HUP "$pid" ;;
  esac
}

# The jobs' supervisor (do_start runs it as its own process).
if [ "$action" = supervise ] && [ "$kind" = jobs ]; then supervise_jobs; fi
case $action in start | stop | restart | reload | status | enable | disable | is-enabled) ;; *) usage ;; esac
# Like systemctl: status of an unknown unit is 4, any other action on one is 5.
[ "$action" = status ] && absent=4 || absent=5
[ "$kind" != unknown ] || { echo "pef-lab-service: unknown service '$svc' on this $flavor host" >&2; exit "$absent"; }
installed || { echo "pef-lab-service: $svc is not installed on $(hostname)" >&2; exit "$absent"; }

case $action in
  start) do_start || exit 1 ;;
  stop) do_stop || exit 1 ;;
  restart) { do_stop && do_start; } || exit 1 ;;
  reload) do_reload || exit $? ;;
  enable) install -d -m 755 "$ENABLED" && : >"$ENABLED/$svc" || exit 1 ;;
  disable) rm -f "$ENABLED/$svc" || exit 1 ;;
  is-enabled)
    if [ -e "$ENABLED/$svc" ]; then echo enabled; else echo disabled; exit 1; fi
    ;;
  status)
    pid=$(running_pid)
    rc=$?
    case $rc in
      0) echo "$svc is running (pid $pid)" ;;
      1) echo "$svc is dead but its pid file $(pidfile) exists" ;;
      *) echo "$svc is stopped" ;;
    esac
    exit "$rc"
    ;;
  *) usage ;;
esac
exit 0
