#!/usr/bin/env bash
# scripts/deps.sh - installs what hedge needs to build and test, from Debian's
# packages.  Quick when everything is already there.
set -eu

# gcc/make build the monitor and the guest runtime; clang with its runtimes
# builds the libFuzzer harnesses; libseccomp is the monitor's sandbox;
# binutils' objcopy prepares the guest library for host-side tests; wabt
# (wasm2c), wasi-libc, lld and the wasm32 compiler runtime build and compile
# WebAssembly apps; hyperfine and nodejs (its built-in WASI is the baseline)
# serve bench/.
packages=(build-essential clang lld libclang-rt-14-dev libseccomp-dev binutils
	wabt wasi-libc libclang-rt-14-dev-wasm32 hyperfine nodejs wrk
	dpkg-dev iproute2 iputils-ping curl python3 # apt-get source lwip; the network tests
	libmicrohttpd-dev libjansson-dev libsqlite3-dev) # hedged

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "hedge: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
