#!/usr/bin/env bash
# Builds lklfsd.sys on Linux with Debian's packages only: the driver crate
# (fsd/driver, a cdylib for the WDK build on Windows) as a static library for x86_64-pc-windows-gnu with
# -Zbuild-std=core,alloc and panic=abort, NT bindings from mingw-w64's DDK
# headers (lkl-ntk's build script), the kernel as the ms_abi COFF object
# (lkl's build script), linked by mingw's ld as a native-subsystem driver
# against mingw's libhal.a and libntoskrnl.a; then test-signs it with
# osslsigncode and a certificate this script makes once
# (target/driver/test-cert), and stamps inf/lklfsd.inx into lklfsd.inf.
#
# Prints the directory holding lklfsd.sys and lklfsd.inf. Runs one at a
# time (tests build in parallel).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=$root/target/driver
triple=x86_64-pc-windows-gnu
out=$target_dir/out
export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_PROFILE_RELEASE_PANIC=abort

mkdir -p "$target_dir" "$out"
exec 9>"$target_dir/.build.lock"
flock 9

/usr/bin/cargo rustc --manifest-path "$root/Cargo.toml" --release --target $triple \
	-Zbuild-std=core,alloc --target-dir "$target_dir" -p lklfsd --lib \
	--crate-type staticlib >&2
release=$target_dir/$triple/release
lkl_obj=$(ls -t "$release"/build/lkl-*/out/lkl.obj | head -1)

# The event log's message table (fsd/driver/messages/events.mc) as a
# resource object.
events=$target_dir/events
mkdir -p "$events"
x86_64-w64-mingw32-windmc -h "$events" -r "$events" "$root/fsd/driver/messages/events.mc"
(cd "$events" && x86_64-w64-mingw32-windres -i events.rc -o events.o)

x86_64-w64-mingw32-ld -o "$out/lklfsd.unsigned.sys" \
	--subsystem native --entry DriverEntry --image-base 0x140000000 \
	--dynamicbase --nxcompat --high-entropy-va \
	--file-alignment 0x200 --section-alignment 0x1000 \
	--gc-sections \
	"$lkl_obj" "$release/liblklfsd.a" "$events/events.o" \
	-L/usr/x86_64-w64-mingw32/lib -lhal -lntoskrnl >&2

# The test certificate: self-signed, for code signing, made once.
cert=$target_dir/test-cert
if [ ! -f "$cert/cert.pem" ]; then
	mkdir -p "$cert"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
		-subj "/CN=lklfsd test signing" \
		-addext "extendedKeyUsage=codeSigning" \
		-keyout "$cert/key.pem" -out "$cert/cert.pem" >&2 2>/dev/null
	openssl x509 -in "$cert/cert.pem" -outform der -out "$cert/lklfsd-test.cer"
fi
rm -f "$out/lklfsd.sys"
osslsigncode sign -certs "$cert/cert.pem" -key "$cert/key.pem" \
	-n "lklfsd" -h sha256 -in "$out/lklfsd.unsigned.sys" -out "$out/lklfsd.sys" >&2
cp "$cert/lklfsd-test.cer" "$out/"

# The INF: the .inx with its architecture and version stamped in (what
# stampinf does on Windows).
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
sed -e 's/\$ARCH\$/amd64/g' \
	-e "s|^DriverVer.*|DriverVer = $(date -u +%m/%d/%Y),$version.0|" \
	"$root/inf/lklfsd.inx" > "$out/lklfsd.inf"
echo "$out"
