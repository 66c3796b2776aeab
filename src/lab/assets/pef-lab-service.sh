#!/bin/bash
# pef-lab-service: the service layer of a pef lab host, which has no systemd.
# Starts the packages' own unit-file command lines, tracks them by pid files in this host's
# private /run (never by process name: every lab host shares the machine's process table),
# and waits for readiness the way the units do (trapperkeeper restart file, pg_ctlcluster, pid file).
#
#   pef-lab-service {start|stop|restart|reload|status} {puppetserver|puppetdb|postgresql|sshd|puppet}
#
# Exit codes (LSB): status: 0 running, 1 dead but pid file left, 3 stopped.
# Other actions: 0 done (start of a running or stop of a stopped service is a no-op), 1 failed,
# 2 usage error, 7 reload of a stopped service. Any action on a service this host does not have
# (not installed, or a name the shim does not know, e.g. pe-puppetserver) exits 5. PEF_LAB_SERVICE_TIMEOUT (seconds, default 300) bounds waits.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
TIMEOUT=${PEF_LAB_SERVICE_TIMEOUT:-300}

usage() {
  echo "usage: pef-lab-service {start|stop|restart|reload|status} {puppetserver|puppetdb|postgresql|sshd|puppet}" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
svc=$2
[ "$svc" = ssh ] && svc=sshd

pg_cluster() { pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1, $2}'; }

pidfile() {
  case $svc in
    puppetserver) echo /run/puppetserver/pid ;;
    puppetdb) echo /run/puppetdb/pid ;;
    postgresql) set -- $(pg_cluster); echo "/run/postgresql/$1-$2.pid" ;;
    sshd) echo /run/sshd.pid ;;
    puppet) echo /run/puppet/pef-lab-agent.pid ;;
  esac
}

# What the process must be running, so a recycled pid is never mistaken for the service.
exe_pattern() {
  case $svc in
    puppetserver | puppetdb) echo '/java$' ;;
    postgresql) echo '/postgres$' ;;
    sshd) echo '/sshd$' ;;
    puppet) echo '/ruby[0-9.]*$' ;;
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
  case $svc in
    puppetserver) [ -f /usr/share/puppetserver/puppetserver.jar ] ;;
    puppetdb) [ -f /usr/share/puppetdb/puppetdb.jar ] ;;
    postgresql) [ -n "$(pg_cluster)" ] ;;
    sshd) [ -x /usr/sbin/sshd ] ;;
    puppet) command -v puppet >/dev/null ;;
  esac
}

# Waits until the trapperkeeper restart file reads 1 (the units' ExecStartPost), or the JVM dies.
wait_restart_file() {
  local run=$1 pid=$2 waited=0
  until [ "$(head -c1 "$run/restart" 2>/dev/null)" = 1 ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "pef-lab-service: $svc (pid $pid) exited while starting; see /var/log/$svc/" >&2
      return 1
    fi
    if [ "$waited" -ge "$TIMEOUT" ]; then
      echo "pef-lab-service: $svc not ready after ${TIMEOUT}s; see /var/log/$svc/" >&2
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

start_jvm() {
  local user=$1 run=/run/$svc log=/var/log/$svc
  install -d -o "$user" -g "$user" -m 755 "$run"
  printf 0 >"$run/restart"
  chown "$user:$user" "$run/restart"
  JAVA_ARGS='' TK_ARGS=''
  # shellcheck disable=SC1090
  [ -r "/etc/default/$svc" ] && . "/etc/default/$svc"
  cd /
  # setsid, not nohup: nohup would make the JVM ignore SIGHUP, which is how reload works.
  if [ "$svc" = puppetserver ]; then
    umask 027
    # shellcheck disable=SC2086
    setsid setpriv --reuid="$user" --regid="$user" --init-groups -- /usr/bin/java $JAVA_ARGS \
      -Djruby.lib=/usr/share/jruby/lib -XX:+CrashOnOutOfMemoryError \
      -XX:ErrorFile=/var/log/puppetserver/puppetserver_err_pid%p.log \
      -jar /usr/share/puppetserver/puppetserver.jar --config /etc/puppet/puppetserver/conf.d \
      --bootstrap-config /etc/puppet/puppetserver/services.d --restart-file "$run/restart" $TK_ARGS \
      </dev/null >>"$log/console.log" 2>&1 &
  else
    # shellcheck disable=SC2086
    setsid setpriv --reuid="$user" --regid="$user" --init-groups -- /usr/bin/java $JAVA_ARGS \
      -Djava.security.egd=/dev/urandom '-XX:OnOutOfMemoryError=kill -9 %p' \
      -cp /usr/share/puppetdb/puppetdb.jar clojure.main -m puppetlabs.puppetdb.core services \
      --config /etc/puppetdb/conf.d --bootstrap-config /etc/puppetdb/bootstrap.cfg \
      --restart-file "$run/restart" </dev/null >>"$log/console.log" 2>&1 &
  fi
  echo $! >"$run/pid"
  wait_restart_file "$run" $!
}

do_start() {
  running_pid >/dev/null && return 0
  case $svc in
    puppetserver) start_jvm puppet ;;
    puppetdb) start_jvm puppetdb ;;
    postgresql)
      install -d -o postgres -g postgres -m 2775 /run/postgresql
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
  if [ "$svc" = postgresql ]; then
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
  case $svc in
    puppetserver | puppetdb)
      printf 0 >"/run/$svc/restart"
      kill -HUP "$pid"
      wait_restart_file "/run/$svc" "$pid"
      ;;
    postgresql) pg_ctlcluster $(pg_cluster) reload ;;
    sshd) /usr/sbin/sshd -t && kill -HUP "$pid" ;;
    puppet) kill -HUP "$pid" ;;
  esac
}

case $action in start | stop | restart | reload | status) ;; *) usage ;; esac
case $svc in
  puppetserver | puppetdb | postgresql | sshd | puppet) ;;
  *) echo "pef-lab-service: unknown service '$svc'" >&2; exit 5 ;;
esac
installed || { echo "pef-lab-service: $svc is not installed on $(hostname)" >&2; exit 5; }

case $action in
  start) do_start || exit 1 ;;
  stop) do_stop || exit 1 ;;
  restart) { do_stop && do_start; } || exit 1 ;;
  reload) do_reload || exit $? ;;
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
