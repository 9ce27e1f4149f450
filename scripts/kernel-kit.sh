#!/usr/bin/env bash
# Packs the ms_abi kernel build for building the lkl crate on Windows, where
# the kernel itself cannot be built: lkl.o (ELF; the crate's build script
# converts it to COFF) and the uapi headers, in the directory given.
# On Windows, point LKL_KERNEL_BUILD at that directory.
#
# Usage: scripts/kernel-kit.sh DIR
set -euo pipefail
out=${1:?usage: scripts/kernel-kit.sh DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(LKL_VARIANT=ms_abi bash "$root/scripts/kernel.sh")
rm -rf "$out"
mkdir -p "$out/usr"
cp "$build/lkl.o" "$out/"
cp -r "$build/usr/include" "$out/usr/"
echo "$out"
