#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The bash completion of vpcictl: driven through COMP_WORDS/COMP_CWORD as
# bash drives it, it offers exactly the expected words, and everything
# `vpcictl --help` lists (commands, sub-verbs, each command's options) is
# offered where it goes, so a new verb or option without completion fails.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
script=$top_srcdir/data/bash-completion/vpcictl

if ! command -v bash >/dev/null 2>&1; then
    echo "SKIP: no bash"
    exit 77
fi
check "the completion script parses" bash -n "$script"

# comp WORD...: the completions, space-separated, for the last WORD (the
# word under the cursor) of the command line WORD...; stderr must stay
# empty.
comp() {
    bash -c '
        script=$1
        shift
        . "$script" || exit 1
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        _vpcictl
        echo "${COMPREPLY[*]}"' _ "$script" "$@" 2>"$TMP/comp.err"
    if [ -s "$TMP/comp.err" ]; then
        echo "stderr of completing '$*':"
        cat "$TMP/comp.err"
        echo "<stderr>"
    fi
}

sorted() {
    [ $# -eq 0 ] || printf '%s\n' "$@" | sort | tr '\n' ' '
}

# expect_comp "EXPECTED" WORD...
expect_comp() {
    want=$1
    shift
    # bash sorts what it shows: the order does not matter.
    expect_eq "complete '$*'" "$(sorted $want)" "$(sorted $(comp "$@"))"
}

# A daemon that cannot be reached: type names quietly come out empty.
VPCID_CONNECT=unix:$TMP/no-daemon.sock
export VPCID_CONNECT
unset VPCID_TOKEN_FILE

expect_comp "layout host vmm devices types compat attach detach attachments migrate" vpcictl ""
expect_comp "attach attachments" vpcictl at
expect_comp "--help --version --connect --token-file --output" vpcictl --
expect_comp "--help -h --version --connect --token-file -o --output" vpcictl -
expect_comp "table json" vpcictl -o ""
expect_comp "json" vpcictl --output j
expect_comp "unix:/run/vpcid/vpcid.sock http://" vpcictl --connect ""
expect_comp "lint fmt hash diff render derive common place" vpcictl layout ""
expect_comp "--policy --quirks --id --output --help" vpcictl layout common --
expect_comp "text json" vpcictl layout common -o ""
expect_comp "--ecap --width --exec --priv --at --device --quirks --help" vpcictl layout place f.vpci --
expect_comp "pasid" vpcictl layout place f.vpci --ecap ""
expect_comp "auto 0xff8" vpcictl layout place f.vpci --ecap pasid --at ""
expect_comp "qemu libvirt" vpcictl vmm ""
expect_comp "--sysfs --dump --snapshot --id --output --help" vpcictl vmm qemu --
expect_comp "text json" vpcictl vmm libvirt -o ""
expect_comp "identity vfio" vpcictl layout derive --policy ""
expect_comp "vfio" vpcictl layout derive -p v
expect_comp "--policy --dump --slot --index --quirks --sysfs" vpcictl layout derive --
expect_comp "-w" vpcictl layout fmt -
expect_comp "scan snapshot" vpcictl host ""
expect_comp "--sysfs --output --help" vpcictl host scan --
expect_comp "--sysfs --hostname --help" vpcictl host snapshot --
expect_comp "show publish deprecate" vpcictl types ""
expect_comp "--connect --token-file --output --help --description" vpcictl types publish --
expect_comp "--connect --token-file --output --help --device --numa --request-id" vpcictl attach vm1 nic --
expect_comp "--connect --token-file --output --help --vm" vpcictl attachments --
expect_comp "precheck incoming commit abort out complete cancel" vpcictl migrate ""
expect_comp "commit complete cancel" vpcictl migrate c
expect_comp "--connect --token-file --output --help --vm --ttl --request-id" vpcictl migrate incoming f.vpci --
expect_comp "--connect --token-file --output --help" vpcictl migrate commit --
# Options before the command and option arguments do not count as words.
expect_comp "show publish deprecate" vpcictl --connect unix:/x -o json types ""
expect_comp "scan snapshot" vpcictl host ""
expect_comp "" vpcictl attach --request-id r1 vm1 nic ""
expect_comp "" vpcictl attach --numa ""
# No daemon: no type names and no noise.
expect_comp "" "$VPCICTL" compat ""
expect_comp "" "$VPCICTL" types show ""

# Files and directories.
mkdir -p "$TMP/f/sub"
: >"$TMP/f/a.vpci"
: >"$TMP/f/b.vpci"
expect_comp "$TMP/f/a.vpci $TMP/f/b.vpci $TMP/f/sub" vpcictl layout lint "$TMP/f/"
expect_comp "$TMP/f/a.vpci" vpcictl layout diff "$TMP/f/b.vpci" "$TMP/f/a"
expect_comp "$TMP/f/a.vpci" vpcictl layout derive --dump "$TMP/f/a"
expect_comp "$TMP/f/b.vpci" vpcictl types publish nic "$TMP/f/b"
expect_comp "$TMP/f/a.vpci" vpcictl migrate precheck "$TMP/f/a"
expect_comp "$TMP/f/sub" vpcictl host scan --sysfs "$TMP/f/"
expect_comp "$TMP/f/sub" vpcictl layout derive --quirks "$TMP/f/"
expect_comp "$TMP/f/a.vpci" vpcictl --token-file "$TMP/f/a"
expect_comp "" vpcictl migrate commit ""
expect_comp "$TMP/f/a.vpci" vpcictl layout common "$TMP/f/b.vpci" "$TMP/f/a"
expect_comp "$TMP/f/a.vpci" vpcictl layout place "$TMP/f/b.vpci" --device "$TMP/f/a"
expect_comp "$TMP/f/a.vpci" vpcictl vmm qemu "$TMP/f/a"
expect_comp "$TMP/f/a.vpci" vpcictl compat --snapshot "$TMP/f/a"
expect_comp "$TMP/f/a.vpci" vpcictl compat --snapshot "$TMP/f/b.vpci" "$TMP/f/a"

# BDFs are this host's PCI functions; the word is split at ':' by bash
# (COMP_WORDBREAKS), and what follows the last ':' is replaced.
bdfs=$(ls /sys/bus/pci/devices 2>/dev/null | tr '\n' ' ' | sed 's/ $//')
expect_comp "$bdfs" vpcictl devices ""
expect_comp "$bdfs" vpcictl layout derive ""
expect_comp "$bdfs" vpcictl attach vm1 nic --device ""
first=$(ls /sys/bus/pci/devices 2>/dev/null | head -n 1)
if [ -n "$first" ]; then
    dom=${first%%:*}
    rest=${first#*:}
    want=$(ls /sys/bus/pci/devices | sed -n "s/^$dom:\(${rest%%:*}:.*\)/\1/p" |
        tr '\n' ' ' | sed 's/ $//')
    expect_comp "$want" vpcictl compat nic "$dom" : "${rest%%:*}"
fi

# Type names come from `vpcictl -o json types`, with the connection
# options of the command line.
mkdir -p "$TMP/bin"
cat >"$TMP/bin/vpcictl" <<'EOF'
#!/bin/sh
echo "$*" >>"${0%/*}/args"
case "$*" in
*"-o json types") ;;
*) exit 1 ;;
esac
cat <<'JSON'
{
  "instance_types": [
    {
      "name": "nic-vf",
      "description": "82576 VF",
      "created": "2026-11-24T10:00:00Z",
      "latest": 2
    },
    {
      "name": "nvme",
      "description": "",
      "created": "2026-11-24T10:00:00Z",
      "latest": 1
    }
  ]
}
JSON
EOF
chmod +x "$TMP/bin/vpcictl"
expect_comp "nic-vf nvme" "$TMP/bin/vpcictl" compat ""
expect_comp "nvme" "$TMP/bin/vpcictl" attach vm1 nv
expect_comp "nic-vf" "$TMP/bin/vpcictl" types show ni
expect_comp "nic-vf nvme" "$TMP/bin/vpcictl" --connect unix:/tmp/v.sock types publish ""
expect_eq "the type lookup passes --connect on" \
    "--connect unix:/tmp/v.sock -o json types" "$(tail -n 1 "$TMP/bin/args")"

# Everything --help lists is offered.  Each entry of the help ("  attach
# VM NAME[@N] [--device BDF] ...", with its continuation lines) gives the
# command words to type and the options to expect after them; the global
# options ("  --connect ...", "  -o ...") go before the command.
help_all() {
    "$VPCICTL" --help
    "$VPCICTL" layout --help
    "$VPCICTL" host --help
    "$VPCICTL" vmm --help
}
help_all | awk '
    function flush() { if (cmd != "" || opts != "") print (cmd == "" ? "." : cmd) "\t" opts; cmd = opts = "" }
    function take(s,    w, n, i) {
        n = split(s, w, " ")
        for (i = 1; i <= n; i++) {
            o = w[i]; gsub(/[][|]/, " ", o)
            if (o ~ /^ *-/) { sub(/^ */, "", o); sub(/ .*/, "", o); opts = opts " " o }
        }
    }
    /^usage:/ { flush(); group = $4 == "VERB" ? $3 : ""; next }
    /^  -/ { flush(); s = substr($0, 3); sub(/  .*/, "", s); take(s); flush(); next }
    /^  [a-z]/ {
        flush()
        s = substr($0, 3); sub(/  .*/, "", s)
        n = split(s, w, " ")
        if (group == "" && (w[1] == "layout" || w[1] == "host" || w[1] == "vmm")) next
        cmd = group == "" ? w[1] : group " " w[1]
        if (group == "" && w[2] ~ /^[a-z][a-z|]*$/) cmd = cmd " " w[2]
        take(s); next
    }
    /^ +[[-]/ && cmd != "" { take($0); next }
    { flush() }
    END { flush() }' >"$TMP/help-entries"
check "the help lists entries" test "$(wc -l <"$TMP/help-entries")" -gt 15
tab=$(printf '\t')
while IFS=$tab read -r cmd opts; do
    # "migrate commit|abort" is two commands.
    [ "$cmd" = . ] && cmd=
    first=${cmd%% *}
    subs=${cmd#"$first"}
    subs=${subs# }
    for s in $(printf '%s' "${subs:-.}" | tr '|' ' '); do
        [ "$s" = . ] && s=
        # The command words are offered where they are typed...
        if [ -n "$first" ]; then
            got=" $(comp vpcictl "") "
            case $got in
            *" $first "*) ok ;;
            *) not_ok "'vpcictl $first' is offered (got:$got)" ;;
            esac
        fi
        if [ -n "$s" ]; then
            got=" $(comp vpcictl "$first" "") "
            case $got in
            *" $s "*) ok ;;
            *) not_ok "'vpcictl $first $s' is offered (got:$got)" ;;
            esac
        fi
        # ...and so are the options of the entry, after them.
        [ -n "$opts" ] || continue
        # shellcheck disable=SC2086
        got=" $(comp vpcictl $first $s -) "
        for o in $opts; do
            case $got in
            *" $o "*) ok ;;
            *) not_ok "'vpcictl $first $s $o' is offered (got:$got)" ;;
            esac
        done
    done
done <"$TMP/help-entries"

finish
