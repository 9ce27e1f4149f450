#!/usr/bin/env bash
# The main job on a built-in example: builds lklfs, makes an ext4 image from
# examples/sample-tree with mkfs.ext4 -d, then lists, reads and writes it
# with lklfs, and has e2fsck check the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p lklfs --manifest-path "$root/Cargo.toml"
export PATH="$root/target/release:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

run() {
	printf '\n$ %s\n' "$*"
	"$@"
}

run mkfs.ext4 -q -d "$root/examples/sample-tree" sample.img 16M
run lklfs ls -l sample.img:/
run lklfs cat sample.img:/README.txt
run lklfs mkdir -p sample.img:/added/by/lklfs
echo "written through the Linux kernel's ext4 driver" > note.txt
run lklfs cp -p note.txt sample.img:/added/by/lklfs/
run lklfs mv sample.img:/docs sample.img:/manual
run lklfs ln -s manual/guide.md sample.img:/guide
run lklfs ls -l sample.img:/added/by/lklfs
run lklfs cp -r -p sample.img:/ copy-out
run ls -lR copy-out
run lklfs df sample.img
run e2fsck -fn sample.img
