#!/usr/bin/env bash
# The Windows CI's test disks, made and checked on Linux with each file
# system's own tools (the first and last jobs of .github/workflows/windows.yml;
# also runnable by hand, and tested in cargo make test).
#
#   scripts/test-disks.sh make DIR    makes DIR/*.img from a tree, then DIR/*.vhdx
#   scripts/test-disks.sh check DIR   turns DIR/*.vhdx back into raw images and
#                                     checks them: e2fsck -fn, fsck.vfat -n,
#                                     btrfs check, the tree's checksums, and
#                                     what the Windows CI wrote (if it did)
#
# The disks: gpt (GPT: a Linux data partition with ext4, a basic-data one
# with FAT), mbr (MBR: one type 0x83 partition with ext4), whole (ext4 on the
# whole disk, no partition table), btrfs (btrfs on the whole disk). Each file
# system holds examples/sample-tree, a 3 MiB file of fixed bytes and
# SHA256SUMS of the files, which the Windows job checks too. Their Linux
# file systems have the fixed UUIDs of DIR/uuids.txt, which the Windows job
# opts in to writing (the driver mounts found disks read-only otherwise).
# Beside them, DIR/scenarios holds the removal scenarios' disks, which
# `check` does not hold to a clean check: scratch (ext4, whole disk, for
# an eject with a file open and a surprise removal under writes) and 4kn
# (ext4 with 4 KiB blocks on a VHDX whose logical and physical sectors are
# 4 KiB: qemu-img writes 512, so the VHDX's metadata items are set after).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"

# Sectors of 512 bytes.
GPT_EXT4_START=2048 GPT_EXT4_SECTORS=98304 GPT_FAT_START=100352 GPT_FAT_SECTORS=40960
MBR_START=2048

die() { echo "test-disks: $*" >&2; exit 1; }

tree() {
	local t=$1
	mkdir -p "$t"
	cp -r "$root/examples/sample-tree/." "$t/"
	# 3 MiB of bytes that look random and are the same every time.
	head -c $((3 << 20)) /dev/zero | openssl enc -aes-128-ctr -nosalt \
		-K 000102030405060708090a0b0c0d0e0f -iv 0 >"$t/known.bin"
	(cd "$t" && find . -type f ! -name SHA256SUMS -printf '%P\n' | sort | xargs sha256sum >SHA256SUMS)
}

make_disks() {
	local dir=$1 t
	mkdir -p "$dir"
	t=$(mktemp -d)
	trap 'rm -rf "$t"' RETURN
	tree "$t/tree"

	rm -f "$dir"/*.img "$dir"/*.vhdx
	truncate -s 96M "$dir/gpt.img"
	sfdisk -q "$dir/gpt.img" <<-EOF
		label: gpt
		start=$GPT_EXT4_START, size=$GPT_EXT4_SECTORS, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="linux"
		start=$GPT_FAT_START, size=$GPT_FAT_SECTORS, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="fat"
	EOF
	mkfs.ext4 -q -F -L lkl-gpt -U 6c6b6c00-0000-4000-8000-000000000001 -E offset=$((GPT_EXT4_START * 512)) -d "$t/tree" \
		"$dir/gpt.img" $((GPT_EXT4_SECTORS / 2))k
	mkfs.vfat -n LKLFAT --offset $GPT_FAT_START "$dir/gpt.img" $((GPT_FAT_SECTORS / 2)) >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -s -i "$dir/gpt.img@@$((GPT_FAT_START * 512))" "$t/tree/"* ::/

	truncate -s 64M "$dir/mbr.img"
	printf 'label: dos\nstart=%d, type=83\n' $MBR_START | sfdisk -q "$dir/mbr.img"
	mkfs.ext4 -q -F -L lkl-mbr -U 6c6b6c00-0000-4000-8000-000000000002 -E offset=$((MBR_START * 512)) -d "$t/tree" "$dir/mbr.img" 63M

	truncate -s 64M "$dir/whole.img"
	mkfs.ext4 -q -F -L lkl-whole -U 6c6b6c00-0000-4000-8000-000000000003 -d "$t/tree" "$dir/whole.img"
	# A file only uid 1500 may read (the Windows job's permission check).
	printf 'uid 1500 only\n' > "$t/private"
	debugfs -w -R "write $t/private private.txt" "$dir/whole.img" >/dev/null 2>&1
	for field in "uid 1500" "gid 1500" "mode 0100600"; do
		debugfs -w -R "sif private.txt $field" "$dir/whole.img" >/dev/null 2>&1
	done

	truncate -s 128M "$dir/btrfs.img"
	mkfs.btrfs -q -L lkl-btrfs -U 6c6b6c00-0000-4000-8000-000000000004 --rootdir "$t/tree" "$dir/btrfs.img"

	mkdir -p "$dir/scenarios"
	rm -f "$dir"/scenarios/*.img "$dir"/scenarios/*.vhdx
	truncate -s 64M "$dir/scenarios/scratch.img"
	mkfs.ext4 -q -F -L lkl-scratch -U 6c6b6c00-0000-4000-8000-000000000005 "$dir/scenarios/scratch.img"
	truncate -s 64M "$dir/scenarios/4kn.img"
	mkfs.ext4 -q -F -b 4096 -L lkl-4kn -U 6c6b6c00-0000-4000-8000-000000000006 -d "$t/tree" "$dir/scenarios/4kn.img"

	printf '%s\n' 6c6b6c00-0000-4000-8000-00000000000{1,2,3,4,5,6} > "$dir/uuids.txt"

	for img in "$dir"/*.img "$dir"/scenarios/*.img; do
		qemu-img convert -f raw -O vhdx "$img" "${img%.img}.vhdx"
	done
	vhdx_sectors "$dir/scenarios/4kn.vhdx" 4096
	ls "$dir"/*.vhdx "$dir"/scenarios/*.vhdx
}

# Little-endian integer of $3 bytes at offset $2 of file $1.
le() { od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '; }
# $3 bytes at offset $2 of file $1, in hex.
hex() { od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }

# Sets the logical and physical sector sizes of VHDX $1 to $2 bytes: the
# two items of its metadata table (VHDX specification: the region table
# at 192 KiB names the metadata region; its table lists items by GUID, at
# offsets from the region's start). The metadata is not checksummed.
vhdx_sectors() {
	local f=$1 bytes=$2 count i entry meta="" items n id at
	local region=06a27c8b90479a4bb8fe575f050f886e
	local logical=1dbf41816fa90947ba47f233a8faab5f physical=c748a3cd5d4471449cc9e9885251c556
	[ "$(hex "$f" $((192 << 10)) 4)" = "72656769" ] || die "$f: no VHDX region table"
	count=$(le "$f" $(((192 << 10) + 8)) 4)
	for ((i = 0; i < count; i++)); do
		entry=$(((192 << 10) + 16 + 32 * i))
		[ "$(hex "$f" $entry 16)" = "$region" ] && meta=$(le "$f" $((entry + 16)) 8)
	done
	[ -n "$meta" ] || die "$f: no metadata region"
	[ "$(hex "$f" "$meta" 8)" = "$(printf metadata | od -An -tx1 | tr -d ' \n')" ] || die "$f: no metadata table"
	items=$(le "$f" $((meta + 10)) 2)
	n=0
	for ((i = 0; i < items; i++)); do
		entry=$((meta + 32 + 32 * i))
		id=$(hex "$f" $entry 16)
		if [ "$id" = "$logical" ] || [ "$id" = "$physical" ]; then
			at=$((meta + $(le "$f" $((entry + 16)) 4)))
			printf '%b' "$(printf '\\x%02x' $((bytes & 255)) $(((bytes >> 8) & 255)) $(((bytes >> 16) & 255)) $((bytes >> 24)))" |
				dd of="$f" bs=1 seek=$at conv=notrunc status=none
			n=$((n + 1))
		fi
	done
	[ $n = 2 ] || die "$f: $n of 2 sector size items"
}

# Checks the files of the tree in a file system that debugfs (ext4) or a
# mounted-free copy-out (mtools, btrfs restore) put in directory $1.
check_sums() {
	(cd "$1" && sha256sum --quiet -c SHA256SUMS) || die "$2: checksums differ"
}

# What the Windows CI wrote, where it did (scripts/windows-ci.ps1): the
# tree robocopy copied in, and a file the scenario suite saved.
check_windows_writes() {
	local out=$1 name=$2
	[ -d "$out/ci" ] || return 0
	diff -r "$root/examples/sample-tree" "$out/ci/robocopy" >&2 || die "$name: robocopy's copy differs"
	[ "$(cat "$out/ci/run-editor_saves/note.txt")" = "final text" ] || die "$name: the suite's note.txt"
	echo "test-disks: $name holds what Windows wrote"
}

check_disks() {
	local dir=$1 t img
	t=$(mktemp -d)
	trap 'rm -rf "$t"' RETURN
	for name in gpt mbr whole btrfs; do
		[ -f "$dir/$name.vhdx" ] || die "$dir/$name.vhdx: missing"
		# A VHDX Windows wrote may carry a log to replay and leaked
		# blocks: qemu-img repairs those before it reads the data.
		qemu-img check -r all "$dir/$name.vhdx" >"$t/qemu-check.log" 2>&1 ||
			{ cat "$t/qemu-check.log" >&2; die "$name.vhdx: qemu-img check"; }
		qemu-img convert -f vhdx -O raw "$dir/$name.vhdx" "$t/$name.img"
	done
	for spec in "gpt:$((GPT_EXT4_START * 512))" "mbr:$((MBR_START * 512))" "whole:0"; do
		img="$t/${spec%%:*}.img?offset=${spec#*:}"
		e2fsck -fn "$img" >"$t/fsck.log" 2>&1 || { cat "$t/fsck.log" >&2; die "$spec: e2fsck"; }
		mkdir -p "$t/out-${spec%%:*}"
		debugfs -R "rdump / $t/out-${spec%%:*}" "$img" 2>/dev/null
		check_sums "$t/out-${spec%%:*}" "$spec"
		check_windows_writes "$t/out-${spec%%:*}" "$spec"
	done
	dd if="$t/gpt.img" of="$t/fat.img" bs=512 skip=$GPT_FAT_START count=$GPT_FAT_SECTORS status=none
	fsck.vfat -n "$t/fat.img" >"$t/fsck.log" 2>&1 || { cat "$t/fsck.log" >&2; die "gpt: fsck.vfat"; }
	mkdir -p "$t/out-fat"
	MTOOLS_SKIP_CHECK=1 mcopy -s -n -i "$t/fat.img" ::/ "$t/out-fat"
	check_sums "$t/out-fat" "gpt FAT"
	btrfs check "$t/btrfs.img" >"$t/fsck.log" 2>&1 || { cat "$t/fsck.log" >&2; die "btrfs check"; }
	mkdir -p "$t/out-btrfs"
	btrfs restore "$t/btrfs.img" "$t/out-btrfs" >/dev/null
	check_sums "$t/out-btrfs" "btrfs"
	check_windows_writes "$t/out-btrfs" "btrfs"
	echo "test-disks: all clean"
}

case "${1:-}" in
make) make_disks "${2:?DIR}" ;;
check) check_disks "${2:?DIR}" ;;
*) die "usage: $0 make|check DIR" ;;
esac
