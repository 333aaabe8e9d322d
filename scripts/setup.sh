#!/usr/bin/env bash
# setup.sh — install what the fast build of isingflow needs: Debian's
# OpenBLAS (libopenblas-dev), which `go build -tags openblas` links through
# cgo (and a C compiler, which cgo needs, when there is none).
#
# Usage: scripts/setup.sh [--quiet]     (--quiet: say nothing when all is there)
#
# Idempotent: does nothing when the library is already installed. Runs
# apt-get non-interactively as root, or through `sudo -n` when that works
# without a password. Never fails (exit status 0; 2 only on bad usage):
# when the library cannot be installed (no apt-get, no root, no network)
# it says so, and the commands then run on gonum's pure-Go BLAS, which
# gives the same results, only more slowly.
set -u

say() { echo "setup: $*" >&2; }

quiet=0
case "${1:-}" in
--quiet | -q) quiet=1 ;;
"") ;;
*)
	echo "usage: scripts/setup.sh [--quiet]" >&2
	exit 2
	;;
esac

# have_openblas: the linker can find -lopenblas.
have_openblas() {
	if command -v dpkg-query >/dev/null 2>&1 &&
		dpkg-query -W -f='${Status}' libopenblas-dev 2>/dev/null | grep -q 'ok installed'; then
		return 0
	fi
	local ldconfig
	ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
	"$ldconfig" -p 2>/dev/null | grep -Eq '^[[:space:]]*libopenblas\.so[[:space:]]'
}

# have_cc: the C compiler cgo uses is there.
have_cc() {
	local cc
	cc=$(go env CC 2>/dev/null || true)
	command -v "${cc:-gcc}" >/dev/null 2>&1
}

packages=()
have_openblas || packages+=(libopenblas-dev)
have_cc || packages+=(gcc libc6-dev)
if [ ${#packages[@]} -eq 0 ]; then
	[ "$quiet" = 1 ] || say "OpenBLAS is installed"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	say "no apt-get here: install OpenBLAS (${packages[*]}) by hand for the fast build; using pure Go"
	exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	say "not root (and no password-less sudo): run 'apt-get install ${packages[*]}' as root for the fast build; using pure Go"
	exit 0
fi

say "installing ${packages[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
if "${as_root[@]}" apt-get update -q >&2 &&
	"${as_root[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}" >&2 &&
	have_openblas; then
	say "OpenBLAS installed"
else
	say "could not install ${packages[*]}; using pure Go (same results, slower)"
fi
exit 0
