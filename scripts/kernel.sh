#!/usr/bin/env bash
# Builds the lkl kernel library: liblkl.a (one object whose only global
# symbols are lkl_*) plus the kernel's uapi headers.
#
# Everything is cached outside the clone, in $LKL_CACHE (default
# ~/.cache/lkl): the extracted source, the tree with arch/lkl laid in,
# and the out-of-tree build directory keyed by source version and config.
# Compiles go through ccache. Prints the build directory on stdout. One
# build at a time (a lock in the cache).
#
# LKL_LINUX_SRC=/path uses another Linux 6.12 tree instead of Debian's
# linux-source-6.12 package. LKL_VARIANT="NAME ..." adds the config
# fragments kernel/arch/lkl/configs/NAME.config, in order (ms_abi: the
# Windows boundary; net: the network stack).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${LKL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lkl}
arch_dir=$root/kernel/arch/lkl
jobs=${LKL_JOBS:-$(nproc)}
log() { echo "kernel: $*" >&2; }

# One build at a time per cache: tests and the Windows builds may start
# several at once, and two would share (and break) the same directories.
mkdir -p "$cache"
exec 8>"$cache/.build.lock"
flock 8

# The pristine source, extracted once per version.
if [ -n "${LKL_LINUX_SRC:-}" ]; then
	pristine=$(cd "$LKL_LINUX_SRC" && pwd)
	version=$(make -s -C "$pristine" kernelversion 2>/dev/null)
	key=custom-$(echo "$pristine" | sha1sum | cut -c1-12)
else
	tarball=/usr/src/linux-source-6.12.tar.xz
	if [ ! -f "$tarball" ]; then
		log "linux-source-6.12 is not installed: run scripts/deps.sh" && exit 1
	fi
	version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
	key=debian-$version
	pristine=$cache/src/$key/linux-source-6.12
	if [ ! -f "$pristine/.lkl-extracted-2" ]; then
		log "extracting $tarball"
		rm -rf "$cache/src/$key" && mkdir -p "$cache/src/$key"
		# Sources no lkl build compiles; their Kconfig files stay (of
		# drivers/net, the virtual devices at its top: veth, loopback).
		tar -xf "$tarball" -C "$cache/src/$key" \
			--exclude='linux-source-6.12/arch/*/*.[chS]' \
			--exclude='linux-source-6.12/arch/*/*.dts*' \
			--exclude='linux-source-6.12/drivers/gpu/*.[ch]' \
			--exclude='linux-source-6.12/drivers/net/*/*.[ch]' \
			--exclude='linux-source-6.12/drivers/staging/*.[ch]' \
			--exclude='linux-source-6.12/drivers/media/*.[ch]' \
			--exclude='linux-source-6.12/sound/*.[ch]' \
			--exclude='linux-source-6.12/Documentation/*.rst' \
			--exclude='linux-source-6.12/tools/testing'
		touch "$pristine/.lkl-extracted-2"
	fi
fi

# The tree: the pristine source as symlinks, plus arch/lkl as copies that
# change only when their content does (so Kbuild rebuilds only what changed).
tree=$cache/tree/$key
if [ ! -f "$tree/.lkl-tree-2" ]; then
	log "laying out $tree"
	rm -rf "$tree" && mkdir -p "$tree"
	cp -as "$pristine/." "$tree/"
	rm -rf "$tree/arch/lkl"
	touch "$tree/.lkl-tree-2"
fi
# A header added or removed may shadow another one without any timestamp
# telling make: then every object is rebuilt (ccache keeps that cheap).
mkdir -p "$tree/arch/lkl"
headers_before=$(cd "$tree/arch/lkl" && find . -name '*.h' | sort)
(cd "$arch_dir" && find . -type f) | while read -r f; do
	dst=$tree/arch/lkl/$f
	if ! cmp -s "$arch_dir/$f" "$dst"; then
		mkdir -p "$(dirname "$dst")"
		cp -p "$arch_dir/$f" "$dst"
	fi
done
(cd "$tree/arch/lkl" && find . -type f) | while read -r f; do
	[ -f "$arch_dir/$f" ] || rm -f "$tree/arch/lkl/$f"
done
headers_after=$(cd "$tree/arch/lkl" && find . -name '*.h' | sort)

# The build directory, keyed by source and configuration.
fragments=()
for variant in ${LKL_VARIANT:-}; do
	fragment=$arch_dir/configs/$variant.config
	[ -f "$fragment" ] || { log "no config fragment $fragment"; exit 1; }
	fragments+=("$fragment")
done
config_key=$(cat "$arch_dir/configs/lkl_defconfig" "$arch_dir/Kconfig" "${fragments[@]}" | sha1sum | cut -c1-12)
out=$cache/build/$key-$config_key
mkdir -p "$out"
if [ "$headers_before" != "$headers_after" ]; then
	log "arch headers added or removed: rebuilding everything"
	find "$out" -name '*.o' -delete
fi
cc=gcc
command -v ccache >/dev/null 2>&1 && cc="ccache gcc"
export CCACHE_DIR=${CCACHE_DIR:-$cache/ccache}
kmake() { make -s -C "$tree" O="$out" ARCH=lkl CC="$cc" HOSTCC="$cc" "$@"; }

if [ ! -f "$out/.config" ]; then
	log "configuring ($version)"
	kmake lkl_defconfig >&2
	if [ ${#fragments[@]} -gt 0 ]; then
		cat "${fragments[@]}" >> "$out/.config"
		kmake olddefconfig >&2
	fi
fi
log "building vmlinux in $out"
kmake -j"$jobs" vmlinux >&2
kmake -j"$jobs" headers_install INSTALL_HDR_PATH="$out/usr" >&2

# One object, only lkl_* global: the kernel's memcpy, printk or jiffies
# must never meet the host's.
if [ ! -f "$out/liblkl.a" ] || [ "$out/vmlinux" -nt "$out/liblkl.a" ]; then
	objcopy --wildcard --keep-global-symbol='lkl_*' "$out/vmlinux" "$out/lkl.o"
	bad=$(nm -g --defined-only "$out/lkl.o" | awk '{print $3}' | grep -v '^lkl_' || true)
	if [ -n "$bad" ]; then
		log "global symbols other than lkl_*:" && echo "$bad" | head -20 >&2 && exit 1
	fi
	# The final link provides the GOT that position-independent code names.
	undef=$(nm -u "$out/lkl.o" | awk '{print $2}' | grep -v '^_GLOBAL_OFFSET_TABLE_$' || true)
	if [ -n "$undef" ]; then
		log "undefined symbols:" && echo "$undef" | head -40 >&2 && exit 1
	fi
	rm -f "$out/liblkl.a"
	ar rcs "$out/liblkl.a" "$out/lkl.o"
fi
echo "$out"
