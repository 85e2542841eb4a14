# SPDX-License-Identifier: GPL-2.0-or-later
# bash completion for dashctl(8)                             -*- shell-script -*-

# The names of the buttons, from 'dashctl button list --names' run with the
# -c/--config given earlier on the line.
_dashctl_buttons()
{
    local i w config=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            -c | --config)
                # --config=PATH arrives as three words: --config, =, PATH
                [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
                config=(--config "${COMP_WORDS[i + 1]}")
                ((i++))
                ;;
            -c?*) config=(--config "${w#-c}") ;;
        esac
    done
    [[ ${config[1]} == \~/* ]] && config[1]=$HOME/${config[1]#\~/}
    "${COMP_WORDS[0]}" "${config[@]}" button list --names 2>/dev/null
}

# The network interfaces, for setup --iot-interface.
_dashctl_interfaces()
{
    local n
    for n in /sys/class/net/*; do
        [[ -e $n ]] && printf '%s\n' "${n##*/}"
    done
}

_dashctl()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local globals="-c --config -v --verbose -q --quiet --json --no-color -h --help"

    # --opt=VALUE is split by bash into --opt, =, VALUE
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi

    # setup --reload takes pidfile:PATH or systemctl[:UNIT]; bash splits words at ':',
    # so look at the word as typed, and offer only what follows its last ':'.
    local line=${COMP_LINE:0:COMP_POINT} word before
    word=${line##*[[:space:]]}
    before=${line%"$word"}
    before=${before%"${before##*[![:space:]]}"}
    before=${before##*[[:space:]]}
    if [[ $before == --reload || $word == --reload=* ]]; then
        word=${word#--reload=}
        COMPREPLY=($(compgen -W "systemctl systemctl:dnsmasq pidfile:/run/dnsmasq/dnsmasq.pid" -- "$word"))
        [[ $word == *:* ]] && COMPREPLY=("${COMPREPLY[@]#"${word%"${word##*:}"}"}")
        return
    fi

    case $prev in
        -c | --config | --exec | --socket | --passphrase-file)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --conf-dir | --state-dir)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"))
            return
            ;;
        --iot-interface | --interface)
            COMPREPLY=($(compgen -W "$(_dashctl_interfaces)" -- "$cur"))
            return
            ;;
        --mac | --ip | --window | --mqtt | --webhook | --listen | --subnet | --listen-port | --lease-range | \
            --name | --timeout | --ssid | --address)
            return
            ;;
    esac

    # The verb, its sub-verb and how many arguments follow, skipping options
    # and their values.
    local i w verb= sub= nargs=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            -c | --config | --mac | --ip | --window | --mqtt | --exec | --webhook | \
                --iot-interface | --listen | --subnet | --listen-port | --lease-range | \
                --conf-dir | --state-dir | --reload | --name | --timeout | --socket | \
                --ssid | --passphrase-file | --address | --interface)
                [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
                ((i++))
                ;;
            -* | =) ;;
            *)
                if [[ -z $verb ]]; then
                    verb=$w
                elif [[ -z $sub ]]; then
                    sub=$w
                else
                    ((nargs++))
                fi
                ;;
        esac
    done

    local verbs="setup teardown status learn provision run button dhcp-event config version help"
    local words= opts=$globals
    case $verb in
        "")
            opts+=" --version"
            words=$verbs
            ;;
        setup)
            opts+=" --dry-run --iot-interface --listen --subnet --listen-port --lease-range"
            opts+=" --mqtt --conf-dir --state-dir --reload"
            ;;
        learn)
            # --name is a new name and --timeout a duration: nothing to offer for either.
            opts+=" --name --timeout --any --window --mqtt --exec --webhook"
            ;;
        provision)
            # --ssid is the button's to list (--info shows them): nothing to offer.
            opts+=" --info --ssid --passphrase-file --name --window --mqtt --exec --webhook --force"
            opts+=" --no-isolation-check --address --interface --timeout"
            ;;
        dhcp-event)
            # ACTION MAC IP [HOST] as dnsmasq passes them; from ACTION on, every word is
            # an argument, so options are offered only before it.
            if [[ -z $sub ]]; then
                opts+=" --socket"
                words="add old del"
            else
                opts=
            fi
            ;;
        button)
            case $sub in
                "") words="list show add remove rename test battery" ;;
                list) opts+=" --names" ;;
                show | remove | rename | test) ((nargs == 0)) && words=$(_dashctl_buttons) ;;
                battery)
                    opts+=" --replaced --level"
                    ((nargs == 0)) && words=$(_dashctl_buttons)
                    ;;
                add) opts+=" --mac --ip --window --mqtt --exec --webhook" ;;
            esac
            ;;
        config)
            [[ -z $sub ]] && words="check"
            ;;
        help)
            case $sub in
                "") words=$verbs ;;
                button) ((nargs == 0)) && words="list show add remove rename test battery" ;;
                config) ((nargs == 0)) && words="check" ;;
            esac
            ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    fi
}

complete -F _dashctl dashctl
