// SPDX-License-Identifier: GPL-2.0-only
/* lkl has no assembly, so no structure offsets to export to it. */
#include <linux/kbuild.h>
