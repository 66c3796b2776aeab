#!/bin/sh
# pef lab stand-in for PE's `puppet infrastructure`, `puppet access` and `puppet job` (NOT Puppet
# Enterprise). Installed in front of the real puppet; every other subcommand is exec'd to it.
# The body below the `#!ruby` line runs in the Ruby that Puppet itself needs, so JSON never has
# to be escaped by hand in sh. See docs/lab.md "PE stand-ins".
#   PEF_PE_STANDIN_REAL_PUPPET  the real puppet (default /opt/puppetlabs/puppet/bin/puppet if present, else /usr/bin/puppet)
#   PEF_PE_STANDIN_LOG          one JSON line per call (default /var/log/pef-lab/pe-standin.log)
#   PEF_PE_STANDIN_STATE        infrastructure state, one file for the whole installation (default
#                               /var/lib/pef-lab-shared/pe-infra.json, which every lab host shares)
#   PEF_PE_STANDIN_CERTNAME     this host's certname (default: the hostname); its role (primary,
#                               replica or none) follows from the state
#   PEF_PE_STANDIN_ROLE, PEF_PE_STANDIN_PRIMARY  seed a missing state file (default: this host is the primary)
#   PEF_PE_STANDIN_RUBY         the Ruby to use (default /opt/puppetlabs/puppet/bin/ruby, else ruby)
ruby=${PEF_PE_STANDIN_RUBY:-}
if [ -z "$ruby" ]; then
  if [ -x /opt/puppetlabs/puppet/bin/ruby ]; then ruby=/opt/puppetlabs/puppet/bin/ruby; else ruby=ruby; fi
fi
exec "$ruby" -x "$0" "$@"
#!ruby
require 'json'
require 'securerandom'
require 'socket'
require 'time'
require 'fileutils'

LABEL = 'pef lab stand-in, not Puppet Enterprise'
# On a lab host of the `pe` profile, /opt/puppetlabs/puppet/bin/puppet is the real puppet with PE's paths.
REAL_PUPPET = ENV.fetch('PEF_PE_STANDIN_REAL_PUPPET', File.executable?('/opt/puppetlabs/puppet/bin/puppet') ? '/opt/puppetlabs/puppet/bin/puppet' : '/usr/bin/puppet')
LOG = ENV.fetch('PEF_PE_STANDIN_LOG', '/var/log/pef-lab/pe-standin.log')
STATE = ENV.fetch('PEF_PE_STANDIN_STATE', '/var/lib/pef-lab-shared/pe-infra.json')
CERTNAME = ENV.fetch('PEF_PE_STANDIN_CERTNAME', Socket.gethostname)
HOME_TOKEN = File.join(Dir.home, '.puppetlabs', 'token')
NO_TOKEN = 'Error: No valid RBAC token found. This command requires a token for an administrator; run `puppet access login` or pass --token-file.'
DBS = %w[pe-activity pe-classifier pe-orchestrator pe-rbac].freeze
USAGE = <<~TEXT
  Usage (#{LABEL}):
    puppet access login [--username U] [--lifetime L]     (password on stdin)
    puppet access show
    puppet infrastructure status [--format human|json] [--verbose]
    puppet infrastructure provision replica <name> [--enable] [--topology T] [--yes] [--token-file F] [--skip-agent-config]
    puppet infrastructure enable replica <name> [--topology T] [--yes] [--token-file F] [--skip-agent-config]
    puppet infrastructure promote replica [--yes]
    puppet infrastructure forget <name> [--token-file F]
    puppet infrastructure reinitialize replica [--db pe-activity|pe-classifier|pe-orchestrator|pe-rbac] [-y|--yes] [--token-file F]
    puppet job run (--nodes N,... | --query Q | --node-group ID) [options] [--token-file F]
TEXT

def say(text) = $stdout.puts(text)
def label = warn("Notice: #{LABEL}")

def die(message, code = 1)
  warn(message)
  exit(code)
end

def usage_error(message) = die("Error: #{message}\n#{USAGE}")

def log_call
  FileUtils.mkdir_p(File.dirname(LOG))
  cwd = begin Dir.pwd rescue nil end
  line = JSON.generate(time: Time.now.utc.iso8601(3), argv: ARGV, uid: Process.uid, cwd: cwd, pid: Process.pid)
  File.open(LOG, 'a', 0o644) { |f| f.puts(line) }
rescue SystemCallError => e
  warn("Warning: #{LABEL}: cannot write #{LOG}: #{e.message}")
end

# --opt value, --opt=value and bare flags; the rest are positionals.
def parse(args, with_value, flags)
  opts = {}
  rest = []
  until args.empty?
    arg = args.shift
    name, inline = arg.split('=', 2)
    if with_value.include?(name)
      value = inline || args.shift
      usage_error("#{name} needs a value") if value.nil?
      opts[name] = value
    elsif flags.include?(arg)
      opts[arg] = true
    elsif arg.start_with?('-')
      usage_error("unknown option #{arg}")
    else
      rest << arg
    end
  end
  [opts, rest]
end

def default_state
  replicas = ENV['PEF_PE_STANDIN_ROLE'] == 'replica' ? { CERTNAME => { 'enabled' => true, 'topology' => 'mono' } } : {}
  { 'pef_standin' => LABEL, 'primary' => ENV.fetch('PEF_PE_STANDIN_PRIMARY', CERTNAME), 'replicas' => replicas, 'jobs' => [], 'events' => [] }
end

# This host's role in the installation.
def role_of(state)
  return 'primary' if state['primary'] == CERTNAME
  state['replicas'].key?(CERTNAME) ? 'replica' : 'none'
end

# Reads and rewrites the state under an exclusive lock; the write is a temp file and a rename.
def with_state
  FileUtils.mkdir_p(File.dirname(STATE))
  File.open("#{STATE}.lock", File::RDWR | File::CREAT, 0o600) do |lock|
    lock.flock(File::LOCK_EX)
    state = File.exist?(STATE) ? JSON.parse(File.read(STATE)) : default_state
    result = yield state
    temp = "#{STATE}.tmp-#{Process.pid}"
    File.write(temp, JSON.pretty_generate(state) + "\n", perm: 0o600)
    File.rename(temp, STATE)
    result
  end
rescue JSON::ParserError => e
  die("Error: #{STATE} is not valid JSON (#{e.message}); fix it or remove it to start from a fresh primary state")
end

def read_state = File.exist?(STATE) ? JSON.parse(File.read(STATE)) : default_state

def require_token(opts)
  file = opts['--token-file'] || HOME_TOKEN
  token = File.exist?(file) ? File.read(file).strip : ''
  die(NO_TOKEN) if token.empty?
end

def event(state, what, **more) = (state['events'] << { 'time' => Time.now.utc.iso8601, 'event' => what }.merge(more.transform_keys(&:to_s)))

def confirm(opts, question)
  return if opts['--yes'] || opts['-y']
  die("Error: #{question} Pass --yes to confirm (stdin is not a terminal).") unless $stdin.tty?
  $stderr.print("#{question} [y/N] ")
  die('Aborted.') unless $stdin.gets.to_s.strip.downcase.start_with?('y')
end

def access(args)
  sub = args.shift
  case sub
  when 'login'
    opts, = parse(args, %w[--username --lifetime --service-url --ca-cert], [])
    label
    $stderr.print('Password: ') if $stdin.tty?
    password = $stdin.gets.to_s.chomp
    die('Error: No password given on stdin.') if password.empty?
    token = SecureRandom.alphanumeric(43)
    FileUtils.mkdir_p(File.dirname(HOME_TOKEN), mode: 0o700)
    File.open(HOME_TOKEN, File::WRONLY | File::CREAT | File::TRUNC, 0o600) { |f| f.write(token + "\n") }
    File.chmod(0o600, HOME_TOKEN)
    say("Access token saved to: #{HOME_TOKEN}")
  when 'show'
    label
    die("Error: No token found at #{HOME_TOKEN}; run `puppet access login`.") unless File.exist?(HOME_TOKEN)
    say(File.read(HOME_TOKEN).strip)
  else
    usage_error("unknown action `puppet access #{sub}`")
  end
end

# The service entries real PE prints per server (`puppet infrastructure status --format json`, an
# array; shape as in PE's status API and peadm's spec/fixtures/infrastatus.json): the databases
# the console services replicate say `replication.mode` source on the primary, replica on a replica.
PE_SERVICES = [
  # service, type, display_name, port, path, replicated (has a `replication` status)
  ['pe-master', 'master', 'Puppet Server', 8140, '/', false],
  ['puppetdb-status', 'puppetdb', 'PuppetDB', 8081, '/pdb', false],
  ['classifier-service', 'classifier', 'Classifier', 4433, '/classifier-api', true],
  ['rbac-service', 'rbac', 'RBAC', 4433, '/rbac-api', true],
  ['activity-service', 'activity', 'Activity Service', 4433, '/activity-api', true],
  ['orchestrator-service', 'orchestrator', 'Orchestrator', 8143, '/orchestrator', true]
].freeze

def pe_entries(node, mode, replicating)
  PE_SERVICES.filter_map do |id, type, name, port, path, replicated|
    next if type == 'orchestrator' && mode == 'replica'
    status = replicated ? { 'db_up' => true, 'replication' => { 'mode' => mode, 'status' => replicating ? 'running' : 'inactive' } } : {}
    alerts = replicated && !replicating ? [{ 'severity' => 'error', 'message' => "Database replication for #{name} is inactive" }] : []
    { 'service' => id, 'state' => 'running', 'status' => status, 'display_name' => name, 'server' => node,
      'url' => "https://#{node}:#{port}#{path}", 'type' => type, 'alerts' => alerts }
  end
end

def status(args)
  opts, = parse(args, %w[--format --host], %w[--verbose])
  state = read_state
  nodes = [[state['primary'], 'Primary']] + state['replicas'].map { |name, r| [name, r['enabled'] ? 'Replica' : 'Replica (provisioned, not enabled)'] }
  if opts['--format'] == 'json'
    # As PE: whether a replica is enabled, and its topology, are not in the JSON.
    replicating = !state['replicas'].empty?
    entries = pe_entries(state['primary'], 'source', replicating) + state['replicas'].keys.flat_map { |name| pe_entries(name, 'replica', true) }
    say(JSON.pretty_generate(entries))
  else
    usage_error("--format must be human or json") unless [nil, 'human'].include?(opts['--format'])
    say("Notice: #{LABEL}; states come from #{STATE}, services are not probed")
    nodes.each do |node, role|
      say("#{role}: #{node}")
      pe_entries(node, role == 'Primary' ? 'source' : 'replica', true).each { |s| say("  #{s['display_name']}: Running, #{s['url']}") }
    end
    state['replicas'].each { |name, r| say("Replication to #{name}: #{r['enabled'] ? 'enabled' : 'not enabled'} (topology #{r['topology']})") } if opts['--verbose']
    count = nodes.sum { |node, role| pe_entries(node, role == 'Primary' ? 'source' : 'replica', true).length }
    say("#{count} of #{count} services are fully operational.")
  end
end

def infrastructure(args)
  action = args.shift
  case action
  when 'status' then status(args)
  when 'provision', 'enable'
    usage_error("expected `puppet infrastructure #{action} replica <name>`") unless args.shift == 'replica'
    opts, rest = parse(args, %w[--topology --token-file], %w[--enable --yes -y --skip-agent-config --streaming])
    name = rest.first or usage_error("`puppet infrastructure #{action} replica` needs the replica's certname")
    require_token(opts)
    label
    with_state do |state|
      die("Error: #{name} is the primary; a replica must be another node.") if name == state['primary']
      replica = state['replicas'][name]
      if action == 'enable'
        die("Error: #{name} is not a provisioned replica; run `puppet infrastructure provision replica #{name}` first.") if replica.nil?
      else
        replica = state['replicas'][name] = { 'provisioned_at' => Time.now.utc.iso8601, 'enabled' => false }
      end
      replica['topology'] = opts['--topology'] || replica['topology'] || 'mono'
      replica['skip_agent_config'] = true if opts['--skip-agent-config']
      if action == 'enable' || opts['--enable']
        replica['enabled'] = true
        replica['enabled_at'] = Time.now.utc.iso8601
      end
      event(state, "#{action} replica", node: name)
      say("Notice: #{name} is #{action == 'provision' ? 'provisioned as a replica' : 'a replica'}#{replica['enabled'] ? ' and enabled' : ''} (#{LABEL}).")
    end
  when 'promote'
    usage_error('expected `puppet infrastructure promote replica`') unless args.shift == 'replica'
    opts, = parse(args, %w[--topology], %w[--yes -y])
    label
    with_state do |state|
      die("Error: #{CERTNAME} is the primary already; run promote on the replica.") if role_of(state) == 'primary'
      die("Error: #{CERTNAME} is not a replica of #{state['primary']}; provision it first.") if role_of(state) == 'none'
      confirm(opts, "Promote #{CERTNAME} to primary?")
      event(state, 'promote replica', node: CERTNAME, former_primary: state['primary'])
      state['former_primary'] = state['primary']
      state['primary'] = CERTNAME
      state['replicas'] = {}
      say("Notice: #{CERTNAME} is now the primary (#{LABEL}).")
    end
  when 'forget'
    opts, rest = parse(args, %w[--token-file], [])
    name = rest.first or usage_error('`puppet infrastructure forget` needs the replica\'s certname')
    require_token(opts)
    label
    with_state do |state|
      known = state['replicas'].delete(name)
      event(state, 'forget', node: name, was_replica: !known.nil?)
      say(known ? "Notice: #{name} was forgotten and is no longer a replica." : "Notice: #{name} was not a replica; nothing to forget.")
    end
  when 'reinitialize'
    usage_error('expected `puppet infrastructure reinitialize replica`') unless args.shift == 'replica'
    opts, = parse(args, %w[--db --token-file], %w[--yes -y])
    usage_error("--db must be one of #{DBS.join(', ')}") if opts['--db'] && !DBS.include?(opts['--db'])
    require_token(opts)
    label
    with_state do |state|
      die("Error: #{CERTNAME} is not a replica; run reinitialize on the replica.") unless role_of(state) == 'replica'
      confirm(opts, "Destroy and re-create #{opts['--db'] || 'all replica databases'} on #{CERTNAME}?")
      event(state, 'reinitialize replica', databases: opts['--db'] ? [opts['--db']] : DBS)
      say("Notice: #{opts['--db'] || 'all replica databases'} reinitialized (#{LABEL}; no database was touched).")
    end
  when 'help', nil then say(USAGE)
  else usage_error("unknown action `puppet infrastructure #{action}`")
  end
end

def job(args)
  usage_error("unknown action `puppet job #{args.first}`") unless args.shift == 'run'
  opts, = parse(args, %w[--nodes -n --query -q --node-group --environment -e --token-file --concurrency --description --params], %w[--noop --no-noop --no-enforce-environment --enforce-environment])
  target = opts['--nodes'] || opts['-n'] || opts['--query'] || opts['-q'] || opts['--node-group']
  usage_error('`puppet job run` needs --nodes, --query or --node-group') if target.nil?
  require_token(opts)
  label
  with_state do |state|
    id = (state['jobs'].map { |j| j['id'] }.max || 0) + 1
    state['jobs'] << { 'id' => id, 'time' => Time.now.utc.iso8601, 'argv' => ARGV }
    say("Starting deployment ...\nNew job ID: #{id}\n(#{LABEL}: the job was recorded, no Puppet run was started)")
  end
end

log_call
args = ARGV.dup
case args.first
when 'infrastructure', 'infra' then infrastructure(args.drop(1))
when 'access' then access(args.drop(1))
when 'job' then job(args.drop(1))
else
  begin
    if File.realpath(REAL_PUPPET) == File.realpath($PROGRAM_NAME)
      die("Error: PEF_PE_STANDIN_REAL_PUPPET (#{REAL_PUPPET}) is this stand-in itself; point it at the real puppet.")
    end
  rescue SystemCallError
    die("Error: the real puppet #{REAL_PUPPET} does not exist; set PEF_PE_STANDIN_REAL_PUPPET.")
  end
  exec([REAL_PUPPET, REAL_PUPPET], *ARGV)
end
