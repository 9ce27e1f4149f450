/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Included first in every kernel file: all kernel symbols, declared or
 * defined, are hidden, so the compiler addresses them directly (PC-relative)
 * instead of through a GOT. Only the lkl_* entry points are visible
 * (LKL_API). Direct addressing is also what a COFF object for Windows can
 * express.
 */
#pragma GCC visibility push(hidden)
