/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
#ifndef _UAPI_ASM_LKL_BYTEORDER_H
#define _UAPI_ASM_LKL_BYTEORDER_H

/* lkl runs on little-endian hosts only (x86_64). */
#include <linux/byteorder/little_endian.h>

#endif
