# SPDX-License-Identifier: GPL-2.0-or-later
# fish completion for dashctl(8)

# The words on the line that are not options or their values: the verb, the
# sub-verb and their arguments.
function __dashctl_args
    set -l skip 0
    for t in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case -c --config --mac --ip --window --mqtt --exec --webhook \
                --iot-interface --listen --subnet --listen-port --lease-range --conf-dir --state-dir --reload \
                --name --timeout --socket
                set skip 1
            case '-*'
            case '*'
                echo $t
        end
    end
end

# True when those words are exactly the arguments given.
function __dashctl_at
    set -l args (__dashctl_args)
    test "$args" = "$argv"
end

# True when those words start with the arguments given.
function __dashctl_in
    set -l args (__dashctl_args)
    set -l n (count $argv)
    test (count $args) -ge $n; and test "$args[1..$n]" = "$argv"
end

# The names of the buttons, from 'dashctl button list --names' run with the
# -c/--config given earlier on the line.
function __dashctl_buttons
    set -l tokens (commandline -opc)
    set -l config
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case -c --config
                set config --config $tokens[(math $i + 1)]
            case '--config=*'
                set config --config (string replace -- --config= '' $tokens[$i])
            case '-c?*'
                set config --config (string sub -s 3 -- $tokens[$i])
        end
    end
    set config (string replace -r '^~/' "$HOME/" -- $config)
    $tokens[1] $config button list --names 2>/dev/null
end

complete -c dashctl -f

# Global options, valid before or after the verb
complete -c dashctl -s c -l config -r -F -d 'Config file'
complete -c dashctl -s v -l verbose -d 'More detail on stderr (repeatable)'
complete -c dashctl -s q -l quiet -d 'Only errors on stderr'
complete -c dashctl -l json -d 'Print data as JSON'
complete -c dashctl -l no-color -d 'No colour, even on a terminal'
complete -c dashctl -s h -l help -d 'Print help and exit'
complete -c dashctl -n '__dashctl_at' -l version -d 'Print the version and exit'

# The network interfaces, for setup --iot-interface.
function __dashctl_interfaces
    for n in /sys/class/net/*
        string replace -r '.*/' '' -- $n
    end
end

# Verbs
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a setup -d "Install the firewall table and dnsmasq's files (needs root)"
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a teardown -d 'Remove what setup installed; keep the config (needs root)'
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a status -d "Show whether the plumbing is in place and current, and the daemon's state"
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a learn -d 'Press a button to add it, with a static lease (needs root)'
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a provision -d 'Put a button in setup mode on the Wi-Fi, without Amazon, isolated first (root)'
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a run -d 'Run the daemon in the foreground (no root needed)'
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a button -d 'List, show, add, remove, rename and test buttons; their batteries'
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a dhcp-event -d "Hand a dnsmasq lease event to the daemon (dnsmasq's dhcp-script)"
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a config -d 'Work with the config file'
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a version -d 'Show the version and the libraries it was built with'
complete -c dashctl -n '__dashctl_at; or __dashctl_at help' -a help -d 'Show the help of dashctl or of a verb'

# button
set -l button_at '__dashctl_at button; or __dashctl_at help button'
complete -c dashctl -n $button_at -a list -d 'List the buttons'
complete -c dashctl -n $button_at -a show -d 'Show one button'
complete -c dashctl -n $button_at -a add -d 'Add a button in its own file, buttons.d/NAME.toml'
complete -c dashctl -n $button_at -a remove -d "Remove a button's own file"
complete -c dashctl -n $button_at -a rename -d 'Rename a button and its file'
complete -c dashctl -n $button_at -a test -d "Fire a button's actions now, without a press"
complete -c dashctl -n $button_at -a battery -d "Show a button's battery estimate; --replaced after a new battery"
complete -c dashctl -n '__dashctl_at button show; or __dashctl_at button remove; or __dashctl_at button rename; or __dashctl_at button test; or __dashctl_at button battery' \
    -a '(__dashctl_buttons)' -d Button
complete -c dashctl -n '__dashctl_in button list' -l names -d 'Only the names, one a line'
complete -c dashctl -n '__dashctl_in button battery' -l replaced -d 'A new battery is in: the estimate starts again'
complete -c dashctl -n '__dashctl_in button battery' -l level -x -d 'With --replaced: its level, if not full (1-100)'
complete -c dashctl -n '__dashctl_in button add' -l mac -x -d "The button's MAC address"
complete -c dashctl -n '__dashctl_in button add' -l ip -x -d 'Its static address'
complete -c dashctl -n '__dashctl_in button add' -l window -x -d 'Sightings within this time are one press'
complete -c dashctl -n '__dashctl_in button add' -l mqtt -x -d 'Publish PAYLOAD to TOPIC on a press (TOPIC[=PAYLOAD])'
complete -c dashctl -n '__dashctl_in button add' -l exec -r -F -d 'Run a program on a press (absolute path; quoted as in sh, but no shell)'
complete -c dashctl -n '__dashctl_in button add' -l webhook -x -d 'POST to a URL on a press'

# learn: --name is a new name, not an existing button's; durations are free text
set -l learn_in '__dashctl_in learn'
complete -c dashctl -n $learn_in -l name -x -d "The new button's name (default: the first free button-N)"
complete -c dashctl -n $learn_in -l timeout -x -d 'How long to wait for the press (default 120s; a bare number is seconds)'
complete -c dashctl -n $learn_in -l any -d 'Learn any new device, not only one asking for an intercepted name'
complete -c dashctl -n $learn_in -l window -x -d 'Sightings within this time are one press'
complete -c dashctl -n $learn_in -l mqtt -x -d 'Publish PAYLOAD to TOPIC on a press (TOPIC[=PAYLOAD])'
complete -c dashctl -n $learn_in -l exec -r -F -d 'Run a program on a press (absolute path; quoted as in sh, but no shell)'
complete -c dashctl -n $learn_in -l webhook -x -d 'POST to a URL on a press'

# provision: the SSID is the button's to list (--info shows them); --name is a new name
set -l provision_in '__dashctl_in provision'
complete -c dashctl -n $provision_in -l info -d "Only read and show the button's device info (no root needed)"
complete -c dashctl -n $provision_in -l ssid -x -d 'The network to put the button on (2.4 GHz, one it lists)'
complete -c dashctl -n $provision_in -l passphrase-file -r -F -d 'Read the passphrase from FILE (- for standard input)'
complete -c dashctl -n $provision_in -l name -x -d "The new button's name (default: the first free button-N)"
complete -c dashctl -n $provision_in -l window -x -d 'Sightings within this time are one press'
complete -c dashctl -n $provision_in -l mqtt -x -d 'Publish PAYLOAD to TOPIC on a press (TOPIC[=PAYLOAD])'
complete -c dashctl -n $provision_in -l exec -r -F -d 'Run a program on a press (absolute path; quoted as in sh, but no shell)'
complete -c dashctl -n $provision_in -l webhook -x -d 'POST to a URL on a press'
complete -c dashctl -n $provision_in -l force -d 'Send an SSID the button did not list'
complete -c dashctl -n $provision_in -l no-isolation-check -d 'Do not add the button and apply setup first (it is isolated another way)'
complete -c dashctl -n $provision_in -l address -x -d "The button's address in setup mode (default 192.168.0.1)"
complete -c dashctl -n $provision_in -l interface -x -a '(__dashctl_interfaces)' -d 'Reach it through this interface only'
complete -c dashctl -n $provision_in -l timeout -x -d 'How long each step may take (default 10s)'

# dhcp-event ACTION MAC IP [HOST], as dnsmasq passes them; options only before ACTION
complete -c dashctl -n '__dashctl_at dhcp-event' -l socket -r -F -d "The daemon's event socket (default: daemon.event_socket)"
complete -c dashctl -n '__dashctl_at dhcp-event' -a add -d 'A new lease'
complete -c dashctl -n '__dashctl_at dhcp-event' -a old -d 'A lease dnsmasq knew already'
complete -c dashctl -n '__dashctl_at dhcp-event' -a del -d 'A lease that ended'

# config
complete -c dashctl -n '__dashctl_at config; or __dashctl_at help config' -a check -d 'Validate the config and its file permissions'

# setup
set -l setup_in '__dashctl_in setup'
complete -c dashctl -n $setup_in -l dry-run -d 'Print the ruleset and the file changes; change nothing'
complete -c dashctl -n $setup_in -l iot-interface -x -a '(__dashctl_interfaces)' -d 'First setup: the interface the buttons are on'
complete -c dashctl -n $setup_in -l listen -x -d "First setup: this host's address on it"
complete -c dashctl -n $setup_in -l subnet -x -d 'First setup: the IoT network (NET/LEN)'
complete -c dashctl -n $setup_in -l listen-port -x -d "First setup: the listener's port (1443)"
complete -c dashctl -n $setup_in -l lease-range -x -d 'First setup: static leases for learned buttons (FIRST-LAST)'
complete -c dashctl -n $setup_in -l mqtt -x -d 'First setup: the MQTT broker (URL)'
complete -c dashctl -n $setup_in -l conf-dir -x -a '(__fish_complete_directories)' -d "First setup: dnsmasq's conf-dir"
complete -c dashctl -n $setup_in -l state-dir -x -a '(__fish_complete_directories)' -d "First setup: where dashctl keeps dnsmasq's hosts files"
complete -c dashctl -n $setup_in -l reload -x -a 'systemctl systemctl:dnsmasq pidfile:/run/dnsmasq/dnsmasq.pid' -d 'First setup: how to reload dnsmasq'
