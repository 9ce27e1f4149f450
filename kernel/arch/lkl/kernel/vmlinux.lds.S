/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Layout of the relocatable kernel object. There is no load address: the
 * host's linker places it, and the boundary symbols below stay relative
 * to the sections they mark.
 */
#include <asm/page.h>
#include <asm/thread_info.h>
#include <asm/cache.h>
#include <asm-generic/vmlinux.lds.h>

OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)

jiffies = jiffies_64;

SECTIONS
{
	.text : {
		_text = .;
		_stext = .;
		HEAD_TEXT
		TEXT_TEXT
		SCHED_TEXT
		LOCK_TEXT
		IRQENTRY_TEXT
		SOFTIRQENTRY_TEXT
		KPROBES_TEXT
		_etext = .;
	}

	EXCEPTION_TABLE(16)

	. = ALIGN(PAGE_SIZE);
	.init.begin : { __init_begin = .; }
	INIT_TEXT_SECTION(PAGE_SIZE)
	INIT_DATA_SECTION(16)
	PERCPU_SECTION(L1_CACHE_BYTES)
	. = ALIGN(PAGE_SIZE);
	.init.end : { __init_end = .; }

	.data.begin : { _sdata = .; }
	RO_DATA(PAGE_SIZE)
	RW_DATA(L1_CACHE_BYTES, PAGE_SIZE, THREAD_SIZE)
	.data.end : { _edata = .; }

	BSS_SECTION(0, 0, 0)
	.bss.end : { _end = .; }

	STABS_DEBUG
	DWARF_DEBUG
	ELF_DETAILS

	DISCARDS
}
