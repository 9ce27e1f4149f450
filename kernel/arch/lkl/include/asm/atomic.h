/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Atomics of the one virtual CPU, as the compiler's atomic builtins:
 * correct whoever touches them, and no slower than masking interrupts.
 */
#ifndef _ASM_LKL_ATOMIC_H
#define _ASM_LKL_ATOMIC_H

#include <linux/types.h>
#include <asm/cmpxchg.h>
#include <asm/barrier.h>

#define LKL_ATOMIC_OPS(pfx, type, op)					\
static inline void arch_##pfx##_##op(type i, pfx##_t *v)		\
{									\
	__atomic_##op##_fetch(&v->counter, i, __ATOMIC_RELAXED);	\
}									\
static inline type arch_##pfx##_fetch_##op(type i, pfx##_t *v)		\
{									\
	return __atomic_fetch_##op(&v->counter, i, __ATOMIC_SEQ_CST);	\
}

#define LKL_ATOMIC_RETURN_OPS(pfx, type, op)				\
static inline type arch_##pfx##_##op##_return(type i, pfx##_t *v)	\
{									\
	return __atomic_##op##_fetch(&v->counter, i, __ATOMIC_SEQ_CST);	\
}

#define LKL_ATOMIC_ALL(pfx, type)					\
LKL_ATOMIC_OPS(pfx, type, add)						\
LKL_ATOMIC_OPS(pfx, type, sub)						\
LKL_ATOMIC_OPS(pfx, type, and)						\
LKL_ATOMIC_OPS(pfx, type, or)						\
LKL_ATOMIC_OPS(pfx, type, xor)						\
LKL_ATOMIC_RETURN_OPS(pfx, type, add)					\
LKL_ATOMIC_RETURN_OPS(pfx, type, sub)					\
static inline type arch_##pfx##_xchg(pfx##_t *v, type n)		\
{									\
	return __atomic_exchange_n(&v->counter, n, __ATOMIC_SEQ_CST);	\
}									\
static inline type arch_##pfx##_cmpxchg(pfx##_t *v, type o, type n)	\
{									\
	__atomic_compare_exchange_n(&v->counter, &o, n, false,		\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);\
	return o;							\
}

LKL_ATOMIC_ALL(atomic, int)
LKL_ATOMIC_ALL(atomic64, s64)

#undef LKL_ATOMIC_ALL
#undef LKL_ATOMIC_RETURN_OPS
#undef LKL_ATOMIC_OPS

#define arch_atomic_add			arch_atomic_add
#define arch_atomic_sub			arch_atomic_sub
#define arch_atomic_and			arch_atomic_and
#define arch_atomic_or			arch_atomic_or
#define arch_atomic_xor			arch_atomic_xor
#define arch_atomic_fetch_add		arch_atomic_fetch_add
#define arch_atomic_fetch_sub		arch_atomic_fetch_sub
#define arch_atomic_fetch_and		arch_atomic_fetch_and
#define arch_atomic_fetch_or		arch_atomic_fetch_or
#define arch_atomic_fetch_xor		arch_atomic_fetch_xor
#define arch_atomic_add_return		arch_atomic_add_return
#define arch_atomic_sub_return		arch_atomic_sub_return
#define arch_atomic_xchg		arch_atomic_xchg
#define arch_atomic_cmpxchg		arch_atomic_cmpxchg

#define arch_atomic64_add		arch_atomic64_add
#define arch_atomic64_sub		arch_atomic64_sub
#define arch_atomic64_and		arch_atomic64_and
#define arch_atomic64_or		arch_atomic64_or
#define arch_atomic64_xor		arch_atomic64_xor
#define arch_atomic64_fetch_add		arch_atomic64_fetch_add
#define arch_atomic64_fetch_sub		arch_atomic64_fetch_sub
#define arch_atomic64_fetch_and		arch_atomic64_fetch_and
#define arch_atomic64_fetch_or		arch_atomic64_fetch_or
#define arch_atomic64_fetch_xor		arch_atomic64_fetch_xor
#define arch_atomic64_add_return	arch_atomic64_add_return
#define arch_atomic64_sub_return	arch_atomic64_sub_return
#define arch_atomic64_xchg		arch_atomic64_xchg
#define arch_atomic64_cmpxchg		arch_atomic64_cmpxchg

#define ATOMIC64_INIT(i)		{ (i) }

#define arch_atomic_read(v)		READ_ONCE((v)->counter)
#define arch_atomic_set(v, i)		WRITE_ONCE((v)->counter, (i))
#define arch_atomic64_read(v)		READ_ONCE((v)->counter)
#define arch_atomic64_set(v, i)		WRITE_ONCE((v)->counter, (i))

#endif
