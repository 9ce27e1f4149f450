/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_LKL_XOR_H
#define _ASM_LKL_XOR_H

#include <asm-generic/xor.h>

/* Pick the generic routine instead of timing each at boot. */
#define XOR_SELECT_TEMPLATE(FASTEST) (&xor_block_8regs)

#endif
