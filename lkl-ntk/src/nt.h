/* The NT kernel interfaces the driver uses, from mingw-w64's DDK headers
 * (bindgen reads this file; see build.rs). */
#define POOL_TAGGING 1
#include <ntifs.h>
#include <ntdddisk.h>
#include <mountmgr.h>
