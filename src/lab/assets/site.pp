# pef lab control code (production environment, written by `pef lab up`).
# Every catalog says which server compiled it, and every node exports a file that the primary
# collects, so a run proves the compiler, PuppetDB storeconfigs and exported resources at once.
node default {
  notify { 'pef-lab-compiled-by':
    message => "catalog compiled by ${server_facts['servername']} for ${trusted['certname']}",
  }

  file { '/etc/pef-lab-managed':
    ensure  => file,
    content => "managed by ${server_facts['servername']}\n",
  }

  @@file { "/var/lib/pef-lab/nodes/${trusted['certname']}":
    ensure  => file,
    content => "${trusted['certname']} ${facts['pef_lab_address']}\n",
    tag     => 'pef_lab_node',
  }

  if $facts['pef_lab_role'] == 'primary' {
    file { ['/var/lib/pef-lab', '/var/lib/pef-lab/nodes']:
      ensure => directory,
    }
    File <<| tag == 'pef_lab_node' |>>
  }
}
