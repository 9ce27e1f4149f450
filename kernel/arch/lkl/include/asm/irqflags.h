/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _ASM_LKL_IRQFLAGS_H
#define _ASM_LKL_IRQFLAGS_H

#define ARCH_IRQ_DISABLED	0UL
#define ARCH_IRQ_ENABLED	1UL

#ifndef __ASSEMBLY__
/*
 * The interrupt flag of the one virtual CPU. Enabling interrupts runs the
 * IRQs the host raised meanwhile (see kernel/irq.c).
 */
unsigned long arch_local_save_flags(void);
void arch_local_irq_restore(unsigned long flags);
#endif

#include <asm-generic/irqflags.h>

#endif
