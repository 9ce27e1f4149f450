#!/usr/bin/env bash
# Builds Windows (x86_64-pc-windows-gnu) binaries on Linux with Debian's
# packages only: rustc-web, cargo-web and rust-web-src (the standard
# library built with -Zbuild-std), mingw-w64 as the linker; the kernel is
# the ms_abi variant, converted to COFF by elf2coff in lkl's build script.
# Also builds bcryptprimitives.dll for Wine 8 (wine/bcryptprimitives) and
# puts it beside the binaries.
#
# Usage: scripts/windows.sh CARGO-BUILD-ARGS...   (e.g. -p lkl --example boot)
# LKL_BUILD_STD=core,alloc builds without std, as a kernel-mode driver must.
# Prints the directory holding the release binaries. Runs one at a time
# (tests build in parallel, and the copy below is not atomic).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=$root/target/windows
triple=x86_64-pc-windows-gnu
export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1

mkdir -p "$target_dir"
exec 9>"$target_dir/.build.lock"
flock 9

/usr/bin/cargo build --manifest-path "$root/Cargo.toml" --release --target $triple \
	-Zbuild-std="${LKL_BUILD_STD:-std,panic_abort}" --target-dir "$target_dir" "$@" >&2
/usr/bin/cargo build --manifest-path "$root/wine/bcryptprimitives/Cargo.toml" --release \
	--target $triple -Zbuild-std=core,panic_abort --target-dir "$target_dir" >&2

out=$target_dir/$triple/release
if [ -d "$out/examples" ]; then
	cp "$out/bcryptprimitives.dll" "$out/examples/"
fi
echo "$out"
