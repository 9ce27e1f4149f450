// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm_map_ram() without an MMU. mm/nommu.c's stops the kernel (BUG), yet
 * XFS maps its multi-page buffers with it (log recovery reads through
 * such buffers: a volume that needs its log replayed panicked the
 * kernel). Without an MMU a mapping of pages can only be their own
 * address, which exists when they are physically contiguous. So the link
 * (arch/lkl/Makefile, ld --wrap) sends every call of vm_map_ram,
 * vm_unmap_ram and alloc_pages_bulk_noprof here: a page array is filled
 * from one block of the buddy allocator, split into pages, where one is to
 * be had (so it is contiguous); a mapping of contiguous pages is their
 * address, and of scattered ones fails (callers take it as -ENOMEM)
 * instead of stopping the kernel.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>

unsigned long __real_alloc_pages_bulk_noprof(gfp_t gfp, int preferred_nid,
					     nodemask_t *nodemask, int nr_pages,
					     struct list_head *page_list,
					     struct page **page_array);
unsigned long __wrap_alloc_pages_bulk_noprof(gfp_t gfp, int preferred_nid,
					     nodemask_t *nodemask, int nr_pages,
					     struct list_head *page_list,
					     struct page **page_array);
void *__wrap_vm_map_ram(struct page **pages, unsigned int count, int node);
void __wrap_vm_unmap_ram(const void *mem, unsigned int count);

unsigned long __wrap_alloc_pages_bulk_noprof(gfp_t gfp, int preferred_nid,
					     nodemask_t *nodemask, int nr_pages,
					     struct list_head *page_list,
					     struct page **page_array)
{
	unsigned int order;
	struct page *page;
	int i;

	if (!page_array || page_list || nr_pages < 2)
		goto scattered;
	order = get_order((unsigned long)nr_pages << PAGE_SHIFT);
	if (order > MAX_PAGE_ORDER)
		goto scattered;
	/* Only an empty array: a caller topping up keeps what it has. */
	for (i = 0; i < nr_pages; i++)
		if (page_array[i])
			goto scattered;
	page = alloc_pages((gfp & ~__GFP_COMP) | __GFP_NOWARN, order);
	if (!page)
		goto scattered;
	split_page(page, order);
	for (i = 0; i < nr_pages; i++)
		page_array[i] = page + i;
	for (; i < (1 << order); i++)
		__free_page(page + i);
	return nr_pages;

scattered:
	return __real_alloc_pages_bulk_noprof(gfp, preferred_nid, nodemask,
					      nr_pages, page_list, page_array);
}

void *__wrap_vm_map_ram(struct page **pages, unsigned int count, int node)
{
	unsigned int i;

	for (i = 1; i < count; i++)
		if (pages[i] != pages[0] + i)
			return NULL;
	return page_address(pages[0]);
}

void __wrap_vm_unmap_ram(const void *mem, unsigned int count)
{
	/* Nothing was mapped: the address was the pages' own. */
}
