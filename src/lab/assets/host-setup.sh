# pef lab host setup, run inside one lab host as root: `bash -s STEP` with this file on stdin.
# Environment: LAB_FQDN LAB_NETWORK (a.b.c.0/24) LAB_ADDRESS LAB_ROLE LAB_PRIMARY (fqdn) LAB_HOSTS_LINES (/etc/hosts lines).
# Steps:
#   prep            identity, /etc/hosts, facts, ssh host and root keys, every daemon bound to
#                   LAB_ADDRESS, puppet.conf towards the primary, empty CA and ssl dirs
#   primary-server  CA (with DNS alt names), PostgreSQL database for PuppetDB, PuppetDB config,
#                   storeconfigs and reports to PuppetDB (services are started by pef-lab-service)
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
cd /
: "${LAB_FQDN:?}" "${LAB_NETWORK:?}" "${LAB_ADDRESS:?}" "${LAB_ROLE:?}" "${LAB_PRIMARY:?}" "${LAB_HOSTS_LINES:?}"

# Replaces or appends `key = value` in an ini section-less file.
set_kv() {
  local file=$1 key=$2 value=$3
  if grep -qE "^[#[:space:]]*$key[[:space:]]*=" "$file"; then
    sed -i -E "s|^[#[:space:]]*$key[[:space:]]*=.*|$key = $value|" "$file"
  else
    printf '%s = %s\n' "$key" "$value" >>"$file"
  fi
}

step_prep() {
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
  cat >/etc/puppet/puppetserver/conf.d/webserver.conf <<CONF
webserver: {
    access-log-config: /etc/puppet/puppetserver/request-logging.xml
    client-auth: want
    ssl-host: $LAB_ADDRESS
    ssl-port: 8140
}
CONF
  cat >/etc/puppetdb/conf.d/jetty.ini <<CONF
[jetty]
host = $LAB_ADDRESS
port = 8080
access-log-config = /etc/puppetdb/request-logging.xml
CONF
  # Nothing in the lab may talk to the internet (Debian already disables these; make it explicit).
  printf '[puppetdb]\ndisable-update-checking = true\n' >/etc/puppetdb/conf.d/pef-lab.ini
  local pgconf
  for pgconf in /etc/postgresql/*/*/postgresql.conf; do
    set_kv "$pgconf" listen_addresses "'$LAB_ADDRESS'"
    echo "host all all $LAB_NETWORK scram-sha-256" >>"$(dirname "$pgconf")/pg_hba.conf"
  done
  # Small heaps, and no shared /tmp/hsperfdata_* between hosts.
  sed -i -E 's|^JAVA_ARGS=.*|JAVA_ARGS="-Xms512m -Xmx512m -XX:-UsePerfData -Djruby.logger.class=com.puppetlabs.jruby_utils.jruby.Slf4jLogger"|' /etc/default/puppetserver
  sed -i -E 's|^JAVA_ARGS=.*|JAVA_ARGS="-Xmx192m -XX:-UsePerfData"|' /etc/default/puppetdb

  cat >/etc/puppet/puppet.conf <<CONF
# pef lab: $LAB_FQDN ($LAB_ROLE)
[main]
certname = $LAB_FQDN
server = $LAB_PRIMARY
sourceaddress = $LAB_ADDRESS
CONF
  rm -rf /etc/puppet/puppetserver/ca /var/lib/puppet/ssl
  install -d -o puppet -g puppet -m 771 /var/lib/puppet/ssl
}

step_primary_server() {
  cat >>/etc/puppet/puppet.conf <<CONF
dns_alt_names = $LAB_FQDN,puppet.lab

[server]
storeconfigs = true
storeconfigs_backend = puppetdb
reports = store,puppetdb
CONF
  puppetserver ca setup >/dev/null

  pef-lab-service start postgresql
  local db=/etc/puppetdb/conf.d/database.ini pw
  pw=$(awk -F' *= *' '/^password/ {print $2}' "$db")
  # The password goes through stdin, never a command line.
  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<SQL
CREATE ROLE puppetdb LOGIN PASSWORD '$pw';
CREATE DATABASE puppetdb OWNER puppetdb ENCODING 'UTF8' TEMPLATE template0;
\c puppetdb
CREATE EXTENSION pg_trgm;
REVOKE CREATE ON SCHEMA public FROM public;
GRANT CREATE ON SCHEMA public TO puppetdb;
SQL
  set_kv "$db" subname "//$LAB_FQDN:5432/puppetdb"
  cat >>/etc/puppetdb/conf.d/jetty.ini <<CONF
ssl-host = $LAB_ADDRESS
ssl-port = 8081
ssl-key = /etc/puppetdb/ssl/private.pem
ssl-cert = /etc/puppetdb/ssl/public.pem
ssl-ca-cert = /etc/puppetdb/ssl/ca.pem
CONF
  local ssl=/var/lib/puppet/ssl
  install -d -o puppetdb -g puppetdb -m 700 /etc/puppetdb/ssl
  install -o puppetdb -g puppetdb -m 600 "$ssl/private_keys/$LAB_FQDN.pem" /etc/puppetdb/ssl/private.pem
  install -o puppetdb -g puppetdb -m 644 "$ssl/certs/$LAB_FQDN.pem" /etc/puppetdb/ssl/public.pem
  install -o puppetdb -g puppetdb -m 644 "$ssl/certs/ca.pem" /etc/puppetdb/ssl/ca.pem

  printf '[main]\nserver_urls = https://%s:8081\nsoft_write_failure = false\n' "$LAB_FQDN" >/etc/puppet/puppetdb.conf
  printf -- '---\nserver:\n  facts:\n    terminus: puppetdb\n    cache: yaml\n' >/etc/puppet/routes.yaml
}

case ${1:-} in
  prep) step_prep ;;
  primary-server) step_primary_server ;;
  *) echo "host-setup: unknown step '${1:-}'" >&2; exit 2 ;;
esac
