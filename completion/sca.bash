# Bash completion for sca and sca-manage (installed as
# share/bash-completion/completions/sca, and sca-manage as a link to it).
#
# Commands, options and what an option takes come from the programs' own
# --help, read when first needed and kept for the shell's life, so they are
# never out of step with the program.  Tracer names, task and result uuids
# and host names are asked of the agent with a short --timeout (never more
# than a few seconds in all) and kept for 60 seconds in a private directory
# under $XDG_RUNTIME_DIR, else /tmp.  --config, --transport-url and --host
# given on the command line are passed on; so is an exported SCALPELS_CONF.

_SCA_COMPLETION_TTL=60
declare -gA _sca_help_cache

# _sca_help PROGRAM [COMMAND]: what PROGRAM [COMMAND] --help says, parsed
# into lines "cmd NAME", "opt OPTION [METAVAR]" and "pos METAVAR".
_sca_help() {
    local key="$1 ${2-}"
    local parsed
    if [[ -z ${_sca_help_cache[$key]-} ]]; then
        parsed=$("$1" ${2:+"$2"} --help 2>/dev/null | awk '
            function options(text, n, i, t, tok) {
                # Usage text: an option, maybe its metavar (within the
                # brackets of the option: "]" ends it), and positionals.
                gsub(/[[|]/, " ", text)
                gsub(/]/, " ] ", text)
                n = split(text, tok, " ")
                for (i = 1; i <= n; i++) {
                    t = tok[i]
                    if (t ~ /^--?[A-Za-z0-9]/) {
                        if (i < n && tok[i + 1] ~ /^([A-Z]|[a-z_]+=)/) {
                            print "opt", t, tok[i + 1]
                            i++
                        } else
                            print "opt", t
                    } else if (t ~ /^[A-Z][A-Z_]*$/)
                        print "pos", t
                }
            }
            /^usage:/ { usage = 1 }
            usage && /^$/ { usage = 0 }
            usage { sub(/^usage:/, ""); options($0); next }
            /^Commands:/ { commands = 1; next }
            commands && /^  [a-z]/ { print "cmd", $1; next }
            /^$/ { commands = 0 }
            # An option list line: "  -a, --agent NAMES  what it does".
            /^ {1,6}-/ {
                lead = $0
                sub(/^ +/, "", lead)
                sub(/(  |: ).*/, "", lead)
                n = split(lead, item, /, /)
                # "-a, --agent NAMES": the short option takes the metavar too.
                if (n == 2 && item[1] ~ /^-[^-]$/ && item[2] ~ / /) {
                    meta = item[2]
                    sub(/^[^ ]* /, "", meta)
                    item[1] = item[1] " " meta
                }
                for (i = 1; i <= n; i++)
                    options(item[i])
            }')
        # Nothing (no such program yet) is asked again next time.
        [[ -n $parsed ]] && _sca_help_cache[$key]=$parsed
    fi
    printf '%s\n' "${_sca_help_cache[$key]}"
}

# _sca_cache_dir: a directory only this user can write, or failure.
_sca_cache_dir() {
    local dir
    if [[ -n ${XDG_RUNTIME_DIR-} && -d $XDG_RUNTIME_DIR && -O $XDG_RUNTIME_DIR ]]; then
        dir=$XDG_RUNTIME_DIR/scalpels-completion
    else
        dir=/tmp/scalpels-completion.$EUID
    fi
    [[ -d $dir ]] || mkdir -m 700 "$dir" 2>/dev/null
    [[ -d $dir && ! -L $dir && -O $dir ]] || return 1
    printf '%s' "$dir"
}

# _sca_query KIND: tracer names, task or result uuids, or host names, one a
# line, from the agent the command line points at (_sca_conn), cached.
_sca_query() {
    local kind=$1 sca=sca
    # sca-manage's sibling sca asks the agent (for tracer names).
    [[ $_sca_prog == */* ]] && sca=${_sca_prog%/*}/sca
    local -a args=("${_sca_conn[@]}")
    local -a ask
    case $kind in
    tracers) ask=(--json tracer) ;;
    tasks) ask=(--json task --limit 0) ;;
    results) ask=(result -l --short) ;;
    hosts)
        # --host picks one agent; the list wants them all.
        local i
        args=()
        for ((i = 0; i < ${#_sca_conn[@]}; i += 2)); do
            [[ ${_sca_conn[i]} == --host ]] || args+=("${_sca_conn[@]:i:2}")
        done
        ask=(hosts --short)
        ;;
    esac
    local dir file="" now stamp out sum
    if dir=$(_sca_cache_dir); then
        sum=$(printf '%s\0' "$sca" "${SCALPELS_CONF-}" "${args[@]}" | cksum)
        file=$dir/$kind.${sum%% *}
        printf -v now '%(%s)T' -1
        if [[ -f $file ]] && stamp=$(stat -c %Y "$file" 2>/dev/null) &&
            ((now - stamp < _SCA_COMPLETION_TTL)); then
            cat "$file"
            return
        fi
    fi
    local -a limit=()
    type -P timeout >/dev/null && limit=(timeout 3)
    out=$("${limit[@]}" "$sca" "${args[@]}" --timeout 1 "${ask[@]}" 2>/dev/null) || return
    case $kind in
    tracers) out=$(grep -o '"name":"[^"]*"' <<<"$out" | cut -d'"' -f4) ;;
    tasks) out=$(grep -o '"uuid":"[^"]*"' <<<"$out" | cut -d'"' -f4) ;;
    esac
    if [[ -n $file ]]; then
        printf '%s\n' "$out" >"$file.$$" && mv -f "$file.$$" "$file"
    fi
    printf '%s\n' "$out"
}

# _sca_words: COMP_WORDS with the pieces bash splits at COMP_WORDBREAKS
# ("--agent=cpu", "name=x", "unix:///x") joined again, into _sca_w, with
# the current word's index in _sca_cw and, in _sca_pre, the part of it
# before the piece being completed.
_sca_words() {
    _sca_w=() _sca_cw=0 _sca_pre=""
    local i pos=0 start word
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        word=${COMP_WORDS[i]}
        start=$pos
        while [[ ${COMP_LINE:pos:1} == [[:space:]] ]]; do ((pos++)); done
        if ((i > 0 && pos == start)); then
            ((i == COMP_CWORD)) && _sca_pre=${_sca_w[-1]}
            _sca_w[-1]+=$word
        else
            _sca_w+=("$word")
        fi
        ((i == COMP_CWORD)) && _sca_cw=$((${#_sca_w[@]} - 1))
        ((pos += ${#word}))
    done
    # The cursor after a space: a new, empty word.
    ((_sca_cw < ${#_sca_w[@]})) || _sca_w+=("")
}

# _sca_reply WORDS...: those that start with the current word, as bash
# expects them (without _sca_pre, which bash keeps).
_sca_reply() {
    local cur=${_sca_w[_sca_cw]} w
    local -A seen=()
    for w in "$@"; do
        [[ $w == "$cur"* && -z ${seen[$w]-} ]] || continue
        seen[$w]=1
        COMPREPLY+=("${w:${#_sca_pre}}")
    done
}

# _sca_value METAVAR VALUE: complete an option's value (or a positional
# argument) by its metavar in --help.
_sca_value() {
    local meta=$1 value=$2 lead=${_sca_w[_sca_cw]%"$2"} w
    local -a names=() cand=()
    case $meta in
    NAMES | TRACER*)
        # A comma-separated list: complete its last name.
        lead+=${value%"${value##*,}"}
        mapfile -t names < <(_sca_query tracers)
        ;;
    UUID)
        if [[ $_sca_cmd == result ]]; then
            mapfile -t names < <(_sca_query results)
        else
            mapfile -t names < <(_sca_query tasks)
        fi
        ;;
    NODE)
        mapfile -t names < <(_sca_query hosts)
        ;;
    FILE*)
        mapfile -t names < <(compgen -f -- "$value")
        compopt -o filenames 2>/dev/null
        ;;
    [a-z]*=[A-Z]*)
        # "-t name=N" and its siblings: the keys, then for name= the tracers.
        if [[ $value == name=* ]]; then
            lead+=name=
            mapfile -t names < <(_sca_query tracers)
        elif [[ $value != *=* ]]; then
            for w in "${_sca_keys[@]}"; do names+=("$w="); done
            compopt -o nospace 2>/dev/null
        fi
        ;;
    esac
    for w in "${names[@]}"; do
        [[ -n $w ]] && cand+=("$lead$w")
    done
    _sca_reply "${cand[@]}"
}

# The completion function for sca and sca-manage.
_sca() {
    COMPREPLY=()
    local _sca_prog=$1 _sca_cmd="" _sca_w _sca_cw _sca_pre
    local -a _sca_conn=() _sca_keys=()
    local -A takes=()
    local kind name meta i cur
    local -a words
    _sca_words
    cur=${_sca_w[_sca_cw]}

    # The program's own options, up to the command.
    while read -r kind name meta; do
        [[ $kind == opt && -n $meta ]] && takes[$name]=$meta
    done < <(_sca_help "$_sca_prog")
    for ((i = 1; i < _sca_cw; i++)); do
        name=${_sca_w[i]}
        case $name in
        -c | --config | --transport-url | --host)
            _sca_conn+=("${name/#-c/--config}" "${_sca_w[i + 1]}")
            ((i++))
            ;;
        --config=* | --transport-url=* | --host=*)
            _sca_conn+=("${name%%=*}" "${name#*=}")
            ;;
        -*)
            [[ -n ${takes[$name]-} ]] && ((i++))
            ;;
        *)
            _sca_cmd=$name
            break
            ;;
        esac
    done
    local first=$((i + 1))

    # A value for the previous option, or after --option=.
    local prev=${_sca_w[_sca_cw - 1]-} opt="" value=$cur
    if [[ $cur == --*=* ]]; then
        opt=${cur%%=*} value=${cur#*=}
    elif ((_sca_cw > 1)) && [[ $prev == -* ]]; then
        opt=$prev
    fi

    if [[ -z $_sca_cmd ]]; then
        if [[ -n $opt && -n ${takes[$opt]-} ]]; then
            _sca_value "${takes[$opt]}" "$value"
        else
            [[ $cur == -* ]] && kind=opt || kind=cmd
            mapfile -t words < <(_sca_help "$_sca_prog" | awk -v k="$kind" '$1 == k { print $2 }')
            _sca_reply "${words[@]}"
        fi
        return
    fi

    # The command's options and positionals.
    takes=()
    local -a opts=() positionals=()
    while read -r kind name meta; do
        case $kind in
        opt)
            opts+=("$name")
            if [[ -n $meta ]]; then
                takes[$name]=$meta
                [[ $meta == [a-z]*=[A-Z]* ]] && _sca_keys+=("${meta%%=*}")
            fi
            ;;
        pos) positionals+=("$name") ;;
        esac
    done < <(_sca_help "$_sca_prog" "$_sca_cmd")
    ((${#opts[@]} > 0)) || return

    # sca run: from CMD on (the first word that is not an option, or
    # after --), the words are the command's own.
    if [[ " ${positionals[*]} " == *" CMD "* ]]; then
        local at=0
        for ((i = first; i <= _sca_cw; i++)); do
            name=${_sca_w[i]}
            if [[ $name == -- ]] && ((i < _sca_cw)); then
                at=$((i + 1))
                break
            elif [[ $name == -* ]]; then
                [[ -n ${takes[$name]-} ]] && ((i++))
            else
                at=$i
                break
            fi
        done
        if ((at > 0 && _sca_cw >= at)); then
            if ((_sca_cw == at)); then
                mapfile -t COMPREPLY < <(compgen -c -- "$cur")
            else
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                compopt -o filenames 2>/dev/null
            fi
            return
        fi
    fi

    if [[ -n $opt && -n ${takes[$opt]-} ]]; then
        _sca_value "${takes[$opt]}" "$value"
    elif [[ $cur != -* && " ${positionals[*]} " == *" UUID "* ]]; then
        _sca_value UUID "$cur"
    else
        _sca_reply "${opts[@]}"
    fi
}

complete -F _sca sca sca-manage
