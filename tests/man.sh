#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The man pages render without groff warnings, and vpci-layout(5) names
# every verb vpcictl layout has and every capability keyword the parser
# knows (taken from the tool's own help and from lint of each keyword);
# vpcid(8) and vpcictl(1) are compared with their programs (below).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
page=$top_srcdir/man/vpci-layout.5

if command -v groff >/dev/null 2>&1; then
    out=$(groff -man -ww -z "$page" 2>&1)
    expect_eq "vpci-layout.5 renders without warnings" "" "$out"
fi

for verb in $("$VPCICTL" layout --help | awk '/^  [a-z]/ {print $1}'); do
    check "vpci-layout.5 names the verb $verb" \
        grep -Eq "(layout $verb|^\.BR $verb )" "$page"
done

# Every capability keyword the parser accepts is documented in the
# capability table (".BR kw (0xID)"); lint proves the parser takes it.
probe() { # KIND KW: a minimal layout using the keyword
    printf 'vpci-layout 1\nspace 4096\nheader type0\n'
    printf '  0x00 u16 vendor_id 0x1234\n  0x02 u16 device_id 0x5678\n'
    printf '  0x06 u16 status 0x0010\n  0x0e u8 header_type 0x00\n'
    if [ "$1" = cap ]; then
        printf 'cap 0x40 %s\n' "$2"
    else
        printf 'cap 0x40 pcie\necap 0x100 %s version %s\n' "$2" \
            "$([ "$2" = null ] && echo 0 || echo 1)"
    fi
}
for kw in pm agp vpd slotid msi chswap pcix ht vendor debug ccrc hotplug \
    ssvid agp3 secure pcie msix sata af ea fpb; do
    probe cap "$kw" >"$TMP/p.vpci"
    check "the parser accepts cap $kw" "$VPCICTL" layout lint "$TMP/p.vpci"
    check "vpci-layout.5 documents cap $kw" grep -q "^\.BR $kw \"" "$page"
done
for kw in null aer vc dsn pwrbudget acs ari ats sriov pri rebar ltr secpci \
    pasid l1ss dpc ptm tph dlf pl16 pl32 lmr dvsec vsec doe; do
    probe ecap "$kw" >"$TMP/p.vpci"
    check "the parser accepts ecap $kw" "$VPCICTL" layout lint "$TMP/p.vpci"
    check "vpci-layout.5 documents ecap $kw" grep -q "^\.BR $kw \"" "$page"
done
# vpcid(8) renders cleanly and documents every option of vpcid --help,
# every route of the API and every problem code with its status.
page8=$top_srcdir/man/vpcid.8
VPCID=${VPCID:-$top_builddir/daemon/vpcid}
ROUTES=${ROUTES:-$top_builddir/tests/api-routes}
if command -v groff >/dev/null 2>&1; then
    out=$(groff -man -ww -z "$page8" 2>&1)
    expect_eq "vpcid.8 renders without warnings" "" "$out"
fi
# The page's text with groff's escapes for '-' undone.
text8=$(sed 's/\\-/-/g; s/\\e/\\/g' "$page8")
opts=$("$VPCID" --help | grep -o -- '--[a-z-]*' | sort -u)
check "vpcid --help lists options" test -n "$opts"
for o in $opts; do
    check "vpcid.8 documents $o" sh -c 'printf "%s\n" "$1" | grep -q -- "^\.[A-Z]*.*$2"' _ "$text8" "$o"
done
"$ROUTES" >"$TMP/routes"
check "the route table is not empty" grep -q '^route ' "$TMP/routes"
while read -r kind a b; do
    case $kind in
    route)
        # "/v1/devices/{bdf}/layout" is written with font escapes between
        # its parts: compare with the escapes removed.
        flat=$(printf '%s\n' "$text8" | sed 's/\\f[BIR]//g; s/"//g; s/ \([{}]\)/\1/g; s/\([{}]\) /\1/g')
        check "vpcid.8 documents $a $b" sh -c 'printf "%s\n" "$1" | grep -F -q -- "$2"' _ "$flat" "$b" ;;
    problem)
        check "vpcid.8 documents problem $a ($b)" sh -c 'printf "%s\n" "$1" | grep -q -- "$2.*($3)"' _ "$text8" "$a" "$b" ;;
    esac
done <"$TMP/routes"


# vpcictl(1) renders cleanly, and its SYNOPSIS and vpcictl agree both
# ways: every command and option vpcictl has (from its help and from the
# verb and option tables in cli/*.c) is in the page, and every command
# and option of the SYNOPSIS is one vpcictl has.
page1=$top_srcdir/man/vpcictl.1
if command -v groff >/dev/null 2>&1; then
    out=$(groff -man -ww -z "$page1" 2>&1)
    expect_eq "vpcictl.1 renders without warnings" "" "$out"
fi
cli=$top_srcdir/cli
help_all() {
    "$VPCICTL" --help
    "$VPCICTL" layout --help
    "$VPCICTL" host --help
    "$VPCICTL" vmm --help
}
# Commands ("layout lint", "types show", "devices") from the help: the
# first word of each entry's synopsis (before the two blanks that start
# its description), and a second lowercase word, split at '|', for the
# command groups.
help_all | awk '
    /^usage:/ { group = $4 == "VERB" ? $3 : ""; next }
    /^  [a-z]/ {
        # the synopsis ends where the description column begins
        syn = substr($0, 3)
        sub(/  .*/, "", syn)
        split(syn, w, " ")
        if (group != "") { print group " " w[1]; next }
        if (w[1] == "layout" || w[1] == "host" || w[1] == "vmm") next
        if (w[2] ~ /^[a-z][a-z|]*$/) {
            n = split(w[2], sub_, "|")
            for (i = 1; i <= n; i++) print w[1] " " sub_[i]
        } else print w[1]
    }' | sort -u >"$TMP/cli-cmds"
# The words the code dispatches on: the REST verb table, the layout and
# host verbs and the sub-verbs of types and migrate.
sed -n '/verbs\[\] = {/,/};/p' "$cli/cmd_remote.c" |
    grep -o '"[a-z]*"' | tr -d '"' | sort -u >"$TMP/code-verbs"
grep -ho 'strcmp(verb, "[a-z]*")' "$cli/cmd_layout.c" "$cli/cmd_host.c" \
    "$cli/cmd_vmm.c" |
    sed 's/.*"\(.*\)")/\1/' | sort -u >>"$TMP/code-verbs"
grep -o 'strcmp(sub, "[a-z]*")' "$cli/cmd_remote.c" |
    sed 's/.*"\(.*\)")/\1/' | sort -u >"$TMP/code-subs"
check "the REST verb table of cli/cmd_remote.c was found" \
    grep -qx attachments "$TMP/code-verbs"
check "the layout verbs of cli/cmd_layout.c were found" \
    grep -qx derive "$TMP/code-verbs"
check "the sub-verbs of cli/cmd_remote.c were found" \
    grep -qx deprecate "$TMP/code-subs"
# Options: long ones named in the help and in the code (getopt tables,
# long_opt() calls, strcmp() with an argument), short ones from the
# getopt strings and the same calls.
{
    help_all | grep -o -- '--[a-z][-a-z]*'
    grep -ho '{"[a-z][-a-z]*", *[a-z_]*argument' "$cli"/*.c |
        sed 's/{"\([^"]*\)".*/--\1/'
    grep -ho 'long_opt("-[-a-z]*"' "$cli"/*.c | sed 's/long_opt("\(.*\)"/\1/'
    grep -ho 'strcmp([][a-z_]*, "-[-a-z]*")' "$cli"/*.c |
        sed 's/.*"\(.*\)")/\1/'
    grep -ho 'getopt_long(argc, argv, "[a-z:]*"' "$cli"/*.c |
        sed 's/.*"\(.*\)"/\1/' | tr -d ':' | fold -w1 | sed 's/^/-/'
} | grep -x -- '--\?[a-z][-a-z]*' | sort -u >"$TMP/cli-opts"
check "vpcictl's options were found" grep -qx -- --request-id "$TMP/cli-opts"
check "vpcictl's short options were found" grep -qx -- -w "$TMP/cli-opts"
if command -v groff >/dev/null 2>&1; then
    # The SYNOPSIS as text, one command per line (a long line length
    # keeps each on one).
    groff -man -Tascii -P-cbou -rLL=1000n "$page1" 2>/dev/null |
        sed -n '/^SYNOPSIS/,/^[A-Z]/p' | sed '1d;$d' >"$TMP/synopsis"
    # "vpcictl [OPTIONS] types show NAME[@N]" -> "types show": the first
    # lowercase word, and a second one for a command group.
    awk '$1 == "vpcictl" {
        cmd = ""
        for (i = 2; i <= NF; i++) {
            if ($i !~ /^[a-z]+$/) { if (cmd != "") break; continue }
            cmd = cmd == "" ? $i : cmd " " $i
            if ($i !~ /^(layout|host|vmm|types|migrate)$/) break
        }
        if (cmd != "") print cmd
    }' "$TMP/synopsis" | sort -u >"$TMP/page-cmds"
    grep -o -- '\(^\|[[| ]\)--\?[a-z][-a-z]*' "$TMP/synopsis" |
        sed 's/^[[| ]//' | sort -u >"$TMP/page-opts"
    check "vpcictl.1 has a SYNOPSIS with commands" test -s "$TMP/page-cmds"
    while read -r cmd; do
        check "vpcictl.1 SYNOPSIS has 'vpcictl $cmd'" grep -qxF -- "$cmd" "$TMP/page-cmds"
    done <"$TMP/cli-cmds"
    while read -r v; do
        check "vpcictl.1 SYNOPSIS has the verb $v" \
            grep -Eq "^$v( |\$)|^[a-z]+ $v\$" "$TMP/page-cmds"
    done <"$TMP/code-verbs"
    while read -r v; do
        check "vpcictl.1 SYNOPSIS has the sub-verb $v" grep -q " $v\$" "$TMP/page-cmds"
    done <"$TMP/code-subs"
    while read -r cmd; do
        check "'vpcictl $cmd' of vpcictl.1 is a command vpcictl has" \
            grep -qxF -- "$cmd" "$TMP/cli-cmds"
    done <"$TMP/page-cmds"
    # Long options belong in the SYNOPSIS; short ones may be aliases
    # documented with their long form only in the body.
    grep -- '^--' "$TMP/cli-opts" >"$TMP/cli-long-opts"
    while read -r o; do
        check "vpcictl.1 SYNOPSIS has $o" grep -qxF -- "$o" "$TMP/page-opts"
    done <"$TMP/cli-long-opts"
    while read -r o; do
        check "$o of the vpcictl.1 SYNOPSIS is an option vpcictl has" \
            grep -qxF -- "$o" "$TMP/cli-opts"
    done <"$TMP/page-opts"
fi
# Every option, short or long, has its own entry (a .TP tag or the
# macro line after it) in the body.
text1=$(sed 's/\\-/-/g; s/\\e/\\/g' "$page1")
tags1=$(printf '%s\n' "$text1" | sed -n '/^\.SH DESCRIPTION/,$p' |
    awk 'prev == ".TP" { print } { prev = $0 }')
while read -r o; do
    check "vpcictl.1 has an entry for $o" sh -c \
        'printf "%s\n" "$1" | grep -q -- "\\(^\\|[ \"]\\)$2\\([ \",=]\\|\$\\)"' _ "$tags1" "$o"
done <"$TMP/cli-opts"

finish
