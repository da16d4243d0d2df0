#!/usr/bin/env bash
# scripts/lwip.sh - makes sure Debian's lwIP source package is unpacked under
# build/lwip (the guest's TCP/IP stack is built from it, never copied into the
# repository).  Idempotent and instant once the tree is there.
#
# Steps, each skipped when already done: add a deb-src entry for bookworm
# next to the existing deb822 source, refresh the package lists only if apt
# does not know the lwip source package yet, then `apt-get source lwip` in a
# scratch directory and move the unpacked tree into place.  Needs dpkg-dev
# and root (or sudo).
set -eu
cd "$(dirname "$0")/.."

DEST=build/lwip
# A file every lwIP 2.1 tree has; its presence means the unpack completed.
MARK=$DEST/src/core/tcp.c
[ -f "$MARK" ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
SRC_LIST=/etc/apt/sources.list.d/hedge-src.sources

have_deb_src() {
	grep -rqsE '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' \
		/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

# Prints a deb822 stanza of type deb-src copied from the first stanza whose
# Suites include plain "bookworm"; nothing if there is none.
bookworm_src_stanza() {
	awk '
	function flush() {
		if (found && !done) {
			print "Types: deb-src"
			print uris
			print suites
			print comps
			if (signed != "") print signed
			done = 1
		}
		found = 0; uris = suites = comps = signed = ""
	}
	/^[[:space:]]*$/ { flush(); next }
	/^URIs:/ { uris = $0 }
	/^Components:/ { comps = $0 }
	/^Signed-By:/ { signed = $0 }
	/^Suites:/ {
		suites = $0
		for (i = 2; i <= NF; i++) if ($i == "bookworm") found = 1
	}
	END { flush() }
	' /etc/apt/sources.list.d/*.sources 2>/dev/null
}

# The same from a one-line "deb [opts] URI bookworm COMPONENTS" entry, for
# machines still on /etc/apt/sources.list.
bookworm_src_line() {
	awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == "bookworm") {
		sub(/^deb/, "deb-src"); print; exit } }' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
}

if ! have_deb_src; then
	stanza=$(bookworm_src_stanza)
	if [ -n "$stanza" ]; then
		echo "lwip.sh: adding $SRC_LIST"
		printf '%s\n' "$stanza" | $SUDO tee "$SRC_LIST" >/dev/null
	else
		line=$(bookworm_src_line)
		if [ -z "$line" ]; then
			echo "lwip.sh: no bookworm entry in /etc/apt to copy a deb-src entry from" >&2
			exit 1
		fi
		echo "lwip.sh: adding ${SRC_LIST%.sources}.list"
		printf '%s\n' "$line" | $SUDO tee "${SRC_LIST%.sources}.list" >/dev/null
	fi
fi

command -v dpkg-source >/dev/null || {
	echo "lwip.sh: dpkg-source missing: install dpkg-dev (scripts/deps.sh does)" >&2
	exit 1
}

# apt-cache showsrc prints nothing for a package it has no source lists for.
if ! apt-cache showsrc lwip 2>/dev/null | grep -q '^Package: lwip'; then
	echo "lwip.sh: apt-get update"
	$SUDO apt-get update -qq
fi

mkdir -p build
scratch=$(mktemp -d build/lwip-src.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && apt-get source -qq lwip >/dev/null 2>apt.log) || {
	cat "$scratch/apt.log" >&2
	echo "lwip.sh: apt-get source lwip failed" >&2
	exit 1
}
tree=$(find "$scratch" -mindepth 1 -maxdepth 1 -type d -name 'lwip-*' | head -n 1)
if [ -z "$tree" ] || [ ! -f "$tree/src/core/tcp.c" ]; then
	echo "lwip.sh: apt-get source lwip did not unpack an lwIP tree" >&2
	exit 1
fi
rm -rf "$DEST"
mv "$tree" "$DEST"
echo "lwip.sh: lwIP $(basename "$tree" | sed 's/^lwip-//') in $DEST"
