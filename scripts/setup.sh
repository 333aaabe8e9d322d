#!/usr/bin/env bash
# setup.sh — install what the fast build of isingflow needs: Debian's
# OpenBLAS (libopenblas-dev), which `go build -tags openblas` links through
# cgo (and a C compiler, which cgo needs, when there is none); and NumPy
# (python3-numpy), for docs/checkpoint.py, which reads run directories
# in Python, and its test.
#
# Usage: scripts/setup.sh [--quiet]     (--quiet: say nothing when all is there)
#
# Idempotent: does nothing when both are already installed. Runs apt-get
# non-interactively as root, or through `sudo -n` when that works without
# a password. Never fails (exit status 0; 2 only on bad usage): when a
# package cannot be installed (no apt-get, no root, no network) it says
# so; the commands then run on gonum's pure-Go BLAS, which gives the same
# results, only more slowly, and the NumPy test is skipped.
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

# have_numpy: Debian's python3-numpy is installed, or python3 imports numpy
# (docs/checkpoint.py, the NumPy reader of run directories, and its test).
have_numpy() {
	if command -v dpkg-query >/dev/null 2>&1 &&
		dpkg-query -W -f='${Status}' python3-numpy 2>/dev/null | grep -q 'ok installed'; then
		return 0
	fi
	command -v python3 >/dev/null 2>&1 && python3 -c 'import numpy' >/dev/null 2>&1
}

blas=()
have_openblas || blas+=(libopenblas-dev)
have_cc || blas+=(gcc libc6-dev)
numpy=()
have_numpy || numpy+=(python3-numpy)
packages=("${blas[@]}" "${numpy[@]}")
if [ ${#packages[@]} -eq 0 ]; then
	[ "$quiet" = 1 ] || say "OpenBLAS and NumPy are installed"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	say "no apt-get here: install ${packages[*]} by hand (OpenBLAS for the fast build; using pure Go)"
	exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	say "not root (and no password-less sudo): run 'apt-get install ${packages[*]}' as root (OpenBLAS for the fast build; using pure Go)"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
updated=0
# install PACKAGE...: apt-get install, after one apt-get update.
install() {
	say "installing $* with apt-get"
	if [ "$updated" = 0 ]; then
		"${as_root[@]}" apt-get update -q >&2 || return 1
		updated=1
	fi
	"${as_root[@]}" apt-get install -y -q --no-install-recommends "$@" >&2
}
# Each separately: NumPy missing from a mirror must not cost the fast build.
if [ ${#blas[@]} -gt 0 ]; then
	if install "${blas[@]}" && have_openblas; then
		say "OpenBLAS installed"
	else
		say "could not install ${blas[*]}; using pure Go (same results, slower)"
	fi
fi
if [ ${#numpy[@]} -gt 0 ]; then
	if install "${numpy[@]}" && have_numpy; then
		say "NumPy installed"
	else
		say "could not install ${numpy[*]}; docs/checkpoint.py needs NumPy (its test is skipped without it)"
	fi
fi
exit 0
