// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory: the host hands over one pool at boot, and it becomes all of the
 * "physical" memory that the buddy and slab allocators manage. Kernel code
 * and static data stay in the host's image, outside the pool.
 */
#include <linux/mm.h>
#include <linux/memblock.h>
#include <linux/pfn.h>
#include "internal.h"

unsigned long memory_start, memory_end;
void *empty_zero_page;
static void *pool;
static unsigned long pool_size;

int mem_pool_alloc(unsigned long size)
{
	if (size < 16 * 1024 * 1024)
		return -EINVAL;
	pool_size = size + PAGE_SIZE;
	pool = host_ops->mem_alloc(pool_size);
	if (!pool)
		return -ENOMEM;
	memory_start = PAGE_ALIGN((unsigned long)pool);
	memory_end = (memory_start + size) & PAGE_MASK;
	return 0;
}

void mem_pool_free(void)
{
	host_ops->mem_free(pool, pool_size);
	pool = NULL;
}

void __init bootmem_init(void)
{
	unsigned long max_zone_pfn[MAX_NR_ZONES] = { 0 };

	memblock_add(0, memory_end - memory_start);
	/* Physical address 0 means "no memory" to memblock: never hand it out. */
	memblock_reserve(0, PAGE_SIZE);
	min_low_pfn = 0;
	max_low_pfn = PFN_DOWN(memory_end - memory_start);
	max_pfn = max_low_pfn;
	max_mapnr = max_pfn;
	high_memory = (void *)memory_end;

	max_zone_pfn[ZONE_NORMAL] = max_pfn;
	free_area_init(max_zone_pfn);

	empty_zero_page = memblock_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!empty_zero_page)
		panic("lkl: no memory for the zero page");
}

void __init mem_init(void)
{
	memblock_free_all();
}

/* The init sections belong to the host's image: nothing to give back. */
void free_initmem(void)
{
}
