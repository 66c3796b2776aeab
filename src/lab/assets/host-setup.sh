# pef lab host setup, run inside one lab host as root: `bash -s STEP` with this file on stdin.
# Environment: LAB_PROFILE (oss|pe) LAB_FQDN LAB_NETWORK (a.b.c.0/24) LAB_ADDRESS LAB_ROLE LAB_PRIMARY (fqdn)
# LAB_HOSTS_LINES (/etc/hosts lines).
# Steps:
#   prep            identity, /etc/hosts, facts, ssh host and root keys, every daemon bound to
#                   LAB_ADDRESS, puppet.conf towards the primary, empty CA and ssl dirs; on `pe`
#                   first the Puppet Enterprise layout (pe_layout below)
#   pe-server       (pe, primary and replica) PE's databases in pe-postgresql, secrets, console config
#   primary-server  CA (with DNS alt names), PostgreSQL database for PuppetDB, PuppetDB config,
#                   storeconfigs and reports to PuppetDB (services are started by pef-lab-service)
#   pe-console      (pe, after certificates are signed) the classifier stand-in's certificate copy
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
cd /
: "${LAB_PROFILE:?}" "${LAB_FQDN:?}" "${LAB_NETWORK:?}" "${LAB_ADDRESS:?}" "${LAB_ROLE:?}" "${LAB_PRIMARY:?}" "${LAB_HOSTS_LINES:?}"

# Where things are: Debian's layout (oss) or Puppet Enterprise's (pe).
if [ "$LAB_PROFILE" = pe ]; then
  CONFDIR=/etc/puppetlabs/puppet SSLDIR=/etc/puppetlabs/puppet/ssl CODEDIR=/etc/puppetlabs/code
  PS_CONF=/etc/puppetlabs/puppetserver PDB_CONF=/etc/puppetlabs/puppetdb
  PS_USER=pe-puppet PDB_USER=pe-puppetdb PG_USER=pe-postgres PDB_DB=pe-puppetdb PG_SERVICE=pe-postgresql
  PS_DEFAULTS=/etc/default/pe-puppetserver PDB_DEFAULTS=/etc/default/pe-puppetdb
else
  CONFDIR=/etc/puppet SSLDIR=/var/lib/puppet/ssl CODEDIR=/etc/puppet/code
  PS_CONF=/etc/puppet/puppetserver PDB_CONF=/etc/puppetdb
  PS_USER=puppet PDB_USER=puppetdb PG_USER=postgres PDB_DB=puppetdb PG_SERVICE=postgresql
  PS_DEFAULTS=/etc/default/puppetserver PDB_DEFAULTS=/etc/default/puppetdb
fi
PE_SERVER=false
[ "$LAB_PROFILE" = pe ] && [ "$LAB_ROLE" != agent ] && PE_SERVER=true
PE_VERSION=2023.8.0
PE_DATA=/opt/puppetlabs/server/data
PE_SECRETS_ORCH=/etc/puppetlabs/orchestration-services/conf.d/secrets
PE_SECRETS_CONSOLE=/etc/puppetlabs/console-services/conf.d/secrets

# Replaces or appends `key = value` in an ini section-less file.
set_kv() {
  local file=$1 key=$2 value=$3
  if grep -qE "^[#[:space:]]*$key[[:space:]]*=" "$file"; then
    sed -i -E "s|^[#[:space:]]*$key[[:space:]]*=.*|$key = $value|" "$file"
  else
    printf '%s = %s\n' "$key" "$value" >>"$file"
  fi
}

# Puppet Enterprise's layout around Debian's real Puppet: AIO paths for every host; for the PE
# servers (primary, replica) also pe_version, PE's service users, the server configuration trees
# under /etc/puppetlabs, a PostgreSQL cluster owned by pe-postgres, /opt/puppetlabs/server/bin.
pe_layout() {
  install -d /opt/puppetlabs/bin /opt/puppetlabs/puppet/bin /opt/puppetlabs/puppet/cache /etc/puppetlabs/puppet /var/log/puppetlabs/puppet
  cp -a /etc/puppet/code "$CODEDIR"
  cp -a /etc/puppet/hiera.yaml "$CONFDIR/hiera.yaml"
  # The real puppet with PE's (AIO) paths. confdir and codedir can only be given on the command line.
  cat >/opt/puppetlabs/puppet/bin/puppet <<'SH'
#!/bin/sh
# pef lab (pe profile): Debian's real puppet, pointed at Puppet Enterprise's (AIO) paths.
exec /usr/bin/puppet "$@" --confdir=/etc/puppetlabs/puppet --codedir=/etc/puppetlabs/code \
  --vardir=/opt/puppetlabs/puppet/cache --rundir=/run/puppetlabs --logdir=/var/log/puppetlabs/puppet
SH
  chmod 755 /opt/puppetlabs/puppet/bin/puppet
  # On PE servers /opt/puppetlabs/bin/puppet is the PE stand-in, written by `pef lab up`.
  [ "$PE_SERVER" = true ] || ln -sfn /opt/puppetlabs/puppet/bin/puppet /opt/puppetlabs/bin/puppet
  ln -sfn /opt/puppetlabs/bin/puppet /usr/local/bin/puppet
  [ "$PE_SERVER" = true ] || return 0

  install -d /opt/puppetlabs/server
  echo "$PE_VERSION" >/opt/puppetlabs/server/pe_version
  local u
  for u in pe-puppet pe-puppetdb pe-postgres pe-console-services pe-orchestration-services pe-webserver; do
    id "$u" >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir "$PE_DATA/${u#pe-}" --shell /usr/sbin/nologin "$u"
  done
  # puppetserver CLI: `ca` reads PE's puppet.conf unless --config says otherwise.
  cat >/opt/puppetlabs/bin/puppetserver <<'SH'
#!/bin/sh
# pef lab (pe profile): Debian's puppetserver CLI; `puppetserver ca` reads PE's puppet.conf.
if [ "${1:-}" = ca ]; then
  case " $* " in *" --config "* | *" --config="*) ;; *) set -- "$@" --config /etc/puppetlabs/puppet/puppet.conf ;; esac
fi
exec /usr/bin/puppetserver "$@"
SH
  chmod 755 /opt/puppetlabs/bin/puppetserver
  ln -sfn /opt/puppetlabs/bin/puppetserver /usr/local/bin/puppetserver

  # Server configuration trees, Debian's files with PE's paths.
  cp -a /etc/puppet/puppetserver "$PS_CONF"
  grep -rlZ -e /etc/puppet -e /var/lib/puppetserver -e /var/log/puppetserver -e /run/puppetserver "$PS_CONF" |
    xargs -0 -r sed -i -E -e 's#/etc/puppet/puppetserver#/etc/puppetlabs/puppetserver#g' \
      -e 's#/etc/puppet/code#/etc/puppetlabs/code#g' -e 's#/etc/puppet([/"[:space:]]|$)#/etc/puppetlabs/puppet\1#g' \
      -e "s#server-var-dir: /var/lib/puppetserver#server-var-dir: $PE_DATA/puppetserver#" \
      -e 's#/var/log/puppetserver#/var/log/puppetlabs/puppetserver#g' -e 's#/run/puppetserver#/run/puppetlabs/puppetserver#g'
  chown -R pe-puppet:pe-puppet "$PS_CONF"
  install -d -o pe-puppet -g pe-puppet -m 750 "$PE_DATA/puppetserver" /var/log/puppetlabs/puppetserver
  cp -a /etc/puppetdb "$PDB_CONF"
  grep -rlZ -e /etc/puppetdb -e /var/lib/puppetdb -e /var/log/puppetdb "$PDB_CONF" |
    xargs -0 -r sed -i -E -e 's#/etc/puppetdb#/etc/puppetlabs/puppetdb#g' \
      -e "s#/var/lib/puppetdb#$PE_DATA/puppetdb#g" -e 's#/var/log/puppetdb#/var/log/puppetlabs/puppetdb#g'
  chgrp -R pe-puppetdb "$PDB_CONF"
  install -d -o pe-puppetdb -g pe-puppetdb -m 750 "$PE_DATA/puppetdb" /var/log/puppetlabs/puppetdb
  cp /etc/default/puppetserver "$PS_DEFAULTS"
  cp /etc/default/puppetdb "$PDB_DEFAULTS"

  # pe-postgresql: the machine's PostgreSQL, as a cluster owned by pe-postgres in PE's data dir.
  local pgbin version cluster
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  version=$(basename "$(dirname "$pgbin")")
  install -d /opt/puppetlabs/server/bin
  ln -sfn "$pgbin"/* /opt/puppetlabs/server/bin/
  pg_lsclusters -h | while read -r v c _; do pg_dropcluster --stop "$v" "$c"; done
  install -d -o pe-postgres -g pe-postgres -m 755 "$PE_DATA/postgresql"
  # The socket where the psql in /opt/puppetlabs/server/bin (Debian-built) looks for it. Port 5432
  # explicitly: pg_createcluster's own choice skips ports that other labs' clusters hold on the machine.
  pg_createcluster -u pe-postgres -g pe-postgres -p 5432 -s /var/run/postgresql -d "$PE_DATA/postgresql/$version/data" "$version" pe >/dev/null
}

step_prep() {
  [ "$LAB_PROFILE" = pe ] && pe_layout
  echo "$LAB_FQDN" >/etc/hostname
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    printf '%s\n' "$LAB_HOSTS_LINES"
  } >/etc/hosts
  install -d /etc/facter/facts.d
  # facter's networking.ip is the machine's, not the lab host's: say it as a fact of our own.
  printf 'pef_lab_address: %s\npef_lab_role: %s\n' "$LAB_ADDRESS" "$LAB_ROLE" >/etc/facter/facts.d/pef_lab.yaml

  # ssh: new host key, key-only root login, bound to this host's address, outgoing from it too.
  rm -f /etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C "root@$LAB_FQDN" -f /etc/ssh/ssh_host_ed25519_key
  cat >/etc/ssh/sshd_config.d/pef-lab.conf <<CONF
# pef lab: this host's sshd
ListenAddress $LAB_ADDRESS:22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PidFile /run/sshd.pid
UseDNS no
CONF
  cat >/etc/ssh/ssh_config.d/pef-lab.conf <<CONF
# pef lab: connections leave from this host's own address
Host *
  BindAddress $LAB_ADDRESS
CONF
  install -d -m 700 /root/.ssh
  ssh-keygen -q -t ed25519 -N '' -C "root@$LAB_FQDN" -f /root/.ssh/id_ed25519

  # Daemons default to 0.0.0.0 or localhost, which every lab host shares: bind them to ours.
  if [ -d "$PS_CONF/conf.d" ]; then
    cat >"$PS_CONF/conf.d/webserver.conf" <<CONF
webserver: {
    access-log-config: $PS_CONF/request-logging.xml
    client-auth: want
    ssl-host: $LAB_ADDRESS
    ssl-port: 8140
}
CONF
    sed -i -E 's|^JAVA_ARGS=.*|JAVA_ARGS="-Xms512m -Xmx512m -XX:-UsePerfData -Djruby.logger.class=com.puppetlabs.jruby_utils.jruby.Slf4jLogger"|' "$PS_DEFAULTS"
  fi
  if [ -d "$PDB_CONF/conf.d" ]; then
    cat >"$PDB_CONF/conf.d/jetty.ini" <<CONF
[jetty]
host = $LAB_ADDRESS
port = 8080
access-log-config = $PDB_CONF/request-logging.xml
CONF
    # Nothing in the lab may talk to the internet (Debian already disables these; make it explicit).
    printf '[puppetdb]\ndisable-update-checking = true\n' >"$PDB_CONF/conf.d/pef-lab.ini"
    sed -i -E 's|^JAVA_ARGS=.*|JAVA_ARGS="-Xmx192m -XX:-UsePerfData"|' "$PDB_DEFAULTS"
  fi
  local pgconf
  for pgconf in /etc/postgresql/*/*/postgresql.conf; do
    set_kv "$pgconf" listen_addresses "'$LAB_ADDRESS'"
    echo "host all all $LAB_NETWORK scram-sha-256" >>"$(dirname "$pgconf")/pg_hba.conf"
  done
  cat >"$CONFDIR/puppet.conf" <<CONF
# pef lab: $LAB_FQDN ($LAB_ROLE)
[main]
certname = $LAB_FQDN
server = $LAB_PRIMARY
sourceaddress = $LAB_ADDRESS
CONF
  # AIO's defaults, which Debian's puppet does not have (and the CA CLI reads from puppet.conf only).
  [ "$LAB_PROFILE" = pe ] && printf 'ssldir = %s\ncadir = %s\n' "$SSLDIR" "/etc/puppetlabs/puppetserver/ca" >>"$CONFDIR/puppet.conf"
  rm -rf "$PS_CONF/ca" "$SSLDIR"
  if [ "$LAB_PROFILE" = pe ] && [ "$PE_SERVER" = false ]; then
    install -d -m 771 "$SSLDIR"
  else
    install -d -o "$PS_USER" -g "$PS_USER" -m 771 "$SSLDIR"
  fi
}

# psql as the database superuser, SQL on stdin.
superuser_psql() { runuser -u "$PG_USER" -- psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

# PuppetDB's role and database (once); the password comes from database.ini and goes through stdin.
create_puppetdb_database() {
  local db=$PDB_CONF/conf.d/database.ini pw
  [ -z "$(superuser_psql -Atc "SELECT 1 FROM pg_database WHERE datname = '$PDB_DB'")" ] || return 0
  pw=$(awk -F' *= *' '/^password/ {print $2}' "$db")
  superuser_psql <<SQL
CREATE ROLE "$PDB_DB" LOGIN PASSWORD '$pw';
CREATE DATABASE "$PDB_DB" OWNER "$PDB_DB" ENCODING 'UTF8' TEMPLATE template0;
\c "$PDB_DB"
CREATE EXTENSION pg_trgm;
REVOKE CREATE ON SCHEMA public FROM public;
GRANT CREATE ON SCHEMA public TO "$PDB_DB";
SQL
  set_kv "$db" subname "//$LAB_FQDN:5432/$PDB_DB"
  set_kv "$db" username "$PDB_DB"
}

# A random secret of the shape PE's keys.json files have, written with owner and mode.
write_keys_json() {
  local file=$1 owner=$2
  install -d -o "$owner" -g "$owner" -m 750 "$(dirname "$file")"
  (
    umask 077
    printf '[{"id":"%s","key":"%s","algorithm":"AES/CBC/PKCS5Padding"}]\n' \
      "$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" "$(head -c 32 /dev/urandom | base64 -w0)" >"$file"
  )
  chown "$owner:$owner" "$file"
  chmod 640 "$file"
}

step_pe_server() {
  pef-lab-service start "$PG_SERVICE"
  create_puppetdb_database
  # PE's databases, each with one row naming the host that made it (a restore shows where data came from).
  local db
  for db in pe-rbac pe-classifier pe-orchestrator pe-activity "$PDB_DB"; do
    if [ "$db" != "$PDB_DB" ]; then
      superuser_psql <<SQL
CREATE ROLE "$db" NOLOGIN;
CREATE DATABASE "$db" OWNER "$db" ENCODING 'UTF8' TEMPLATE template0;
SQL
    fi
    superuser_psql -d "$db" <<SQL
CREATE TABLE pef_lab_seed (host text NOT NULL, note text NOT NULL);
ALTER TABLE pef_lab_seed OWNER TO "$db";
INSERT INTO pef_lab_seed VALUES ('$LAB_FQDN', 'created by pef lab up');
SQL
  done

  write_keys_json "$PE_SECRETS_ORCH/keys.json" pe-orchestration-services
  write_keys_json "$PE_SECRETS_ORCH/orchestrator-encryption-keys.json" pe-orchestration-services
  write_keys_json "$PE_SECRETS_CONSOLE/keys.json" pe-console-services
  printf '# pef lab: hiera.yaml of %s\n' "$LAB_FQDN" | cat - /etc/puppet/hiera.yaml >"$CONFDIR/hiera.yaml"

  # The classifier stand-in (pe-console-services): certnames allowed to call it, and its options.
  install -d -m 755 /etc/puppetlabs/console-services
  printf '%s\n' "$LAB_PRIMARY" replica.lab >/etc/puppetlabs/console-services/rbac-certificate-allowlist
  local certs=$PE_DATA/console-services/certs
  cat >/etc/default/pe-console-services <<CONF
# pef lab: options of the classifier stand-in (not Puppet Enterprise), see docs/lab.md
CLASSIFIER_ARGS="--host $LAB_ADDRESS --port 4433 --cert $certs/$LAB_FQDN.cert.pem --key $certs/$LAB_FQDN.private_key.pem --ca $certs/ca.pem --data $PE_DATA/console-services/classifier.json --allowlist-file /etc/puppetlabs/console-services/rbac-certificate-allowlist --primary $LAB_FQDN"
CONF
}

step_pe_console() {
  local certs=$PE_DATA/console-services/certs
  install -d -o pe-console-services -g pe-console-services -m 750 "$PE_DATA/console-services" "$certs"
  install -o pe-console-services -g pe-console-services -m 644 "$SSLDIR/certs/$LAB_FQDN.pem" "$certs/$LAB_FQDN.cert.pem"
  install -o pe-console-services -g pe-console-services -m 600 "$SSLDIR/private_keys/$LAB_FQDN.pem" "$certs/$LAB_FQDN.private_key.pem"
  install -o pe-console-services -g pe-console-services -m 644 "$SSLDIR/certs/ca.pem" "$certs/ca.pem"
}

step_primary_server() {
  cat >>"$CONFDIR/puppet.conf" <<CONF
dns_alt_names = $LAB_FQDN,puppet.lab

[server]
storeconfigs = true
storeconfigs_backend = puppetdb
reports = store,puppetdb
CONF
  puppetserver ca setup >/dev/null
  # PE's services run as pe-puppet, which the CA CLI does not know.
  [ "$LAB_PROFILE" = oss ] || chown -R "$PS_USER:$PS_USER" "$PS_CONF/ca" "$SSLDIR"

  pef-lab-service start "$PG_SERVICE"
  create_puppetdb_database
  cat >>"$PDB_CONF/conf.d/jetty.ini" <<CONF
ssl-host = $LAB_ADDRESS
ssl-port = 8081
ssl-key = $PDB_CONF/ssl/private.pem
ssl-cert = $PDB_CONF/ssl/public.pem
ssl-ca-cert = $PDB_CONF/ssl/ca.pem
CONF
  install -d -o "$PDB_USER" -g "$PDB_USER" -m 700 "$PDB_CONF/ssl"
  install -o "$PDB_USER" -g "$PDB_USER" -m 600 "$SSLDIR/private_keys/$LAB_FQDN.pem" "$PDB_CONF/ssl/private.pem"
  install -o "$PDB_USER" -g "$PDB_USER" -m 644 "$SSLDIR/certs/$LAB_FQDN.pem" "$PDB_CONF/ssl/public.pem"
  install -o "$PDB_USER" -g "$PDB_USER" -m 644 "$SSLDIR/certs/ca.pem" "$PDB_CONF/ssl/ca.pem"

  printf '[main]\nserver_urls = https://%s:8081\nsoft_write_failure = false\n' "$LAB_FQDN" >"$CONFDIR/puppetdb.conf"
  printf -- '---\nserver:\n  facts:\n    terminus: puppetdb\n    cache: yaml\n' >"$CONFDIR/routes.yaml"
}

case ${1:-} in
  prep) step_prep ;;
  primary-server) step_primary_server ;;
  pe-server) step_pe_server ;;
  pe-console) step_pe_console ;;
  *) echo "host-setup: unknown step '${1:-}'" >&2; exit 2 ;;
esac
