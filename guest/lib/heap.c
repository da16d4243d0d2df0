/*
 * heap.c - the guest's general-purpose allocator.
 *
 * Design: a TLSF-style allocator over one contiguous region.
 *
 *  - Every block starts with a 16-byte header: the size of the block before
 *    it (kept valid at all times so free() can check its neighbours) and a
 *    tag holding this block's size, a FREE bit and a magic byte.  Payloads
 *    follow the header, so with 16-byte block sizes they are 16-aligned.
 *  - Free blocks sit in segregated lists indexed by (first level = power of
 *    two, second level = one of 32 slices of it).  Two bitmaps find the
 *    smallest non-empty list that is guaranteed to fit in O(1).
 *  - Free neighbours are merged immediately, so no two free blocks touch.
 *  - The region above "brk" has never been carved into blocks (the
 *    "wilderness").  A free block that reaches brk is given back to it, so
 *    after everything is freed the whole arena is one piece again, and pages
 *    above the highest brk ever reached are never touched at all.
 */
#include <errno.h>
#include <hedge_heap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN_LOG2  4
#define ALIGNMENT   ((size_t)1 << ALIGN_LOG2)
#define HEADER_SIZE ((size_t)16)
/* A free block must hold its header and the two free-list links. */
#define MIN_BLOCK   ((size_t)32)

#define SL_LOG2        5
#define SL_COUNT       (1u << SL_LOG2)
/* Below SMALL_LIMIT the lists are exact 16-byte size classes (first level 0). */
#define SMALL_LOG2     (SL_LOG2 + ALIGN_LOG2)
#define SMALL_LIMIT    ((size_t)1 << SMALL_LOG2)
#define MAX_ARENA_LOG2 46
#define MAX_ARENA      (((size_t)1 << MAX_ARENA_LOG2) - ALIGNMENT)
/* +2: one level for the small classes, one for search sizes rounded past the top. */
#define FL_COUNT       (MAX_ARENA_LOG2 - SMALL_LOG2 + 2)

#define TAG_FREE       ((size_t)1)
#define TAG_MAGIC      ((size_t)0xa5 << 56)
#define TAG_MAGIC_MASK ((size_t)0xff << 56)
#define TAG_SIZE_MASK  (~TAG_MAGIC_MASK & ~(ALIGNMENT - 1))

struct block {
	size_t prev_size; /* size of the block just below; 0 for the first block */
	size_t tag;       /* size | TAG_FREE | TAG_MAGIC */
	/* Only in free blocks, where the payload is unused: */
	struct block *next_free;
	struct block *prev_free;
};

_Static_assert(sizeof(struct block) == MIN_BLOCK, "free block layout");

static struct {
	char *base;       /* first block; 16-aligned */
	char *brk;        /* end of the carved blocks; the wilderness starts here */
	char *end;        /* end of the arena */
	char *fresh;      /* highest brk ever: memory from here up is still zero */
	size_t last_size; /* size of the block ending at brk, 0 if none */
	uint64_t fl_bitmap;
	uint32_t sl_bitmap[FL_COUNT];
	struct block *free_lists[FL_COUNT][SL_COUNT];
	size_t in_use;
	size_t peak_in_use;
	size_t alloc_count;
} heap;

static inline size_t block_size(const struct block *b)
{
	return b->tag & TAG_SIZE_MASK;
}

static inline bool block_is_free(const struct block *b)
{
	return b->tag & TAG_FREE;
}

static inline struct block *block_at(char *addr)
{
	return (struct block *)addr;
}

static inline char *block_end(struct block *b)
{
	return (char *)b + block_size(b);
}

static inline void *payload(struct block *b)
{
	return (char *)b + HEADER_SIZE;
}

/*
 * Sets a block's size and state and keeps the boundary tag above it in
 * step: the next block's prev_size, or last_size if this block ends at brk.
 */
static void set_block(struct block *b, size_t size, bool is_free)
{
	char *after = (char *)b + size;

	b->tag = TAG_MAGIC | size | (is_free ? TAG_FREE : 0);
	if (after < heap.brk)
		block_at(after)->prev_size = size;
	else
		heap.last_size = size;
}

static inline unsigned top_bit(size_t value)
{
	return 63 - __builtin_clzll(value);
}

/* The list a free block of this size belongs to. */
static void size_class(size_t size, unsigned *fl, unsigned *sl)
{
	if (size < SMALL_LIMIT) {
		*fl = 0;
		*sl = size >> ALIGN_LOG2;
	} else {
		unsigned top = top_bit(size);

		*fl = top - (SMALL_LOG2 - 1);
		*sl = (size >> (top - SL_LOG2)) & (SL_COUNT - 1);
	}
}

static void list_insert(struct block *b)
{
	unsigned fl, sl;

	size_class(block_size(b), &fl, &sl);
	struct block *head = heap.free_lists[fl][sl];

	b->next_free = head;
	b->prev_free = NULL;
	if (head)
		head->prev_free = b;
	heap.free_lists[fl][sl] = b;
	heap.fl_bitmap |= (uint64_t)1 << fl;
	heap.sl_bitmap[fl] |= 1u << sl;
}

static void list_remove(struct block *b)
{
	unsigned fl, sl;

	size_class(block_size(b), &fl, &sl);
	/* Cheap link check: a stray write into a free block shows up here. */
	if ((b->prev_free ? b->prev_free->next_free : heap.free_lists[fl][sl]) != b ||
	    (b->next_free && b->next_free->prev_free != b))
		heap_corruption("heap free list corrupted", payload(b));
	if (b->prev_free)
		b->prev_free->next_free = b->next_free;
	else
		heap.free_lists[fl][sl] = b->next_free;
	if (b->next_free)
		b->next_free->prev_free = b->prev_free;
	if (!heap.free_lists[fl][sl]) {
		heap.sl_bitmap[fl] &= ~(1u << sl);
		if (!heap.sl_bitmap[fl])
			heap.fl_bitmap &= ~((uint64_t)1 << fl);
	}
}

/*
 * A free block of at least size bytes, or NULL.  The size is rounded up to
 * the next class boundary first so that any block in the list found fits;
 * that is what makes the search O(1).
 */
static struct block *find_free(size_t size)
{
	unsigned fl, sl;

	if (size >= SMALL_LIMIT)
		size += ((size_t)1 << (top_bit(size) - SL_LOG2)) - 1;
	size_class(size, &fl, &sl);
	if (fl >= FL_COUNT)
		return NULL;
	uint32_t sl_map = heap.sl_bitmap[fl] & (~0u << sl);

	if (!sl_map) {
		uint64_t fl_map = heap.fl_bitmap & (~(uint64_t)0 << (fl + 1));

		if (!fl_map)
			return NULL;
		fl = __builtin_ctzll(fl_map);
		sl_map = heap.sl_bitmap[fl];
	}
	return heap.free_lists[fl][__builtin_ctz(sl_map)];
}

/*
 * Last resort before failing: the rounding in find_free skips blocks in the
 * request's own class that may still be big enough, so look through it.
 */
static struct block *find_free_exact(size_t size)
{
	unsigned fl, sl;

	size_class(size, &fl, &sl);
	if (fl >= FL_COUNT)
		return NULL;
	for (struct block *b = heap.free_lists[fl][sl]; b; b = b->next_free) {
		if (block_size(b) >= size)
			return b;
	}
	return NULL;
}

/*
 * Turns b (not on any list, size already set) into free space: merges it
 * with free neighbours, then either lists it or, if it reaches brk, hands it
 * back to the wilderness.
 */
static void release(struct block *b)
{
	size_t size = block_size(b);

	if ((char *)b > heap.base) {
		struct block *prev = block_at((char *)b - b->prev_size);

		if (block_is_free(prev)) {
			list_remove(prev);
			/* Leave b's stale header marked free so a double free is caught. */
			b->tag |= TAG_FREE;
			size += block_size(prev);
			b = prev;
		}
	}
	char *after = (char *)b + size;

	if (after < heap.brk && block_is_free(block_at(after))) {
		list_remove(block_at(after));
		size += block_size(block_at(after));
		after = (char *)b + size;
	}
	if (after == heap.brk) {
		b->tag = TAG_MAGIC | size | TAG_FREE;
		heap.brk = (char *)b;
		heap.last_size = b->prev_size;
		return;
	}
	set_block(b, size, true);
	list_insert(b);
}

/* Gives the tail of in-use block b beyond size bytes back, if worth it. */
static void trim(struct block *b, size_t size)
{
	size_t old_size = block_size(b);

	if (old_size - size < MIN_BLOCK)
		return;
	struct block *tail = block_at((char *)b + size);

	set_block(b, size, false);
	set_block(tail, old_size - size, true);
	release(tail);
}

/* Block size for a request of n bytes, or 0 if no arena could hold it. */
static size_t block_size_for(size_t n)
{
	if (n > MAX_ARENA)
		return 0;
	size_t size = (n + HEADER_SIZE + ALIGNMENT - 1) & ~(ALIGNMENT - 1);

	return size < MIN_BLOCK ? MIN_BLOCK : size;
}

/* An in-use block of size bytes (up to MIN_BLOCK - 16 more), or NULL. */
static struct block *alloc_block(size_t size)
{
	struct block *b = find_free(size);

	if (!b && (size_t)(heap.end - heap.brk) >= size) {
		b = block_at(heap.brk);
		b->prev_size = heap.last_size;
		heap.brk += size;
		if (heap.brk > heap.fresh)
			heap.fresh = heap.brk;
		set_block(b, size, false);
		return b;
	}
	if (!b)
		b = find_free_exact(size);
	if (!b)
		return NULL;
	list_remove(b);
	set_block(b, block_size(b), false);
	trim(b, size);
	return b;
}

static void account_alloc(struct block *b)
{
	heap.in_use += block_size(b);
	heap.alloc_count++;
	if (heap.in_use > heap.peak_in_use)
		heap.peak_in_use = heap.in_use;
}

/* Adjusts in_use after an in-use block changed size from old_size. */
static void account_resize(struct block *b, size_t old_size)
{
	heap.in_use += block_size(b);
	heap.in_use -= old_size;
	if (heap.in_use > heap.peak_in_use)
		heap.peak_in_use = heap.in_use;
}

/*
 * The block behind a pointer the caller says is live.  Everything checked
 * here is a few loads, so it is done on every free and realloc.
 */
static struct block *checked_block(void *ptr)
{
	char *p = ptr;

	if (!heap.base || p < heap.base + HEADER_SIZE || p > heap.end ||
	    ((uintptr_t)p & (ALIGNMENT - 1)))
		heap_corruption("free/realloc of a pointer not from the heap", ptr);
	struct block *b = block_at(p - HEADER_SIZE);

	if ((char *)b >= heap.brk)
		heap_corruption("free/realloc of a pointer not in use (double free?)", ptr);
	if ((b->tag & TAG_MAGIC_MASK) != TAG_MAGIC)
		heap_corruption(
		    "free/realloc of a pointer not from the heap, or header overwritten", ptr);
	if (block_is_free(b))
		heap_corruption("double free (or realloc of a freed pointer)", ptr);
	size_t size = block_size(b);

	if (size < MIN_BLOCK || size > (size_t)(heap.brk - (char *)b))
		heap_corruption("heap block header corrupted", ptr);
	char *after = (char *)b + size;

	if ((after < heap.brk ? block_at(after)->prev_size : heap.last_size) != size)
		heap_corruption("heap block header corrupted (size mismatch with next block)", ptr);
	if ((char *)b == heap.base) {
		if (b->prev_size != 0)
			heap_corruption("heap block header corrupted", ptr);
	} else {
		if (b->prev_size < MIN_BLOCK || b->prev_size > (size_t)((char *)b - heap.base) ||
		    (b->prev_size & (ALIGNMENT - 1)) ||
		    block_size(block_at((char *)b - b->prev_size)) != b->prev_size)
			heap_corruption(
			    "heap block header corrupted (size mismatch with previous block)", ptr);
	}
	return b;
}

void heap_init(void *start, size_t size)
{
	uintptr_t lo = ((uintptr_t)start + ALIGNMENT - 1) & ~(ALIGNMENT - 1);
	uintptr_t hi = ((uintptr_t)start + size) & ~(ALIGNMENT - 1);

	memset(&heap, 0, sizeof(heap));
	if (size < ALIGNMENT || hi <= lo)
		hi = lo;
	if (hi - lo > MAX_ARENA)
		hi = lo + MAX_ARENA;
	heap.base = heap.brk = heap.fresh = (char *)lo;
	heap.end = (char *)hi;
}

void heap_get_stats(struct heap_stats *stats)
{
	stats->arena_size = heap.end - heap.base;
	stats->in_use = heap.in_use;
	stats->peak_in_use = heap.peak_in_use;
	stats->free_bytes = stats->arena_size - heap.in_use;
	stats->alloc_count = heap.alloc_count;
}

size_t heap_usable_size(void *ptr)
{
	return ptr ? block_size(checked_block(ptr)) - HEADER_SIZE : 0;
}

void *malloc(size_t n)
{
	size_t size = block_size_for(n);
	struct block *b = size ? alloc_block(size) : NULL;

	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	account_alloc(b);
	return payload(b);
}

void free(void *ptr)
{
	if (!ptr)
		return;
	struct block *b = checked_block(ptr);

	heap.in_use -= block_size(b);
	heap.alloc_count--;
	release(b);
}

void *calloc(size_t count, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	/* Memory at or above fresh has never been written since it was zero. */
	char *fresh = heap.fresh;
	char *p = malloc(total);

	if (p && p < fresh)
		memset(p, 0, (size_t)(fresh - p) < total ? (size_t)(fresh - p) : total);
	return p;
}

void *realloc(void *ptr, size_t n)
{
	if (!ptr)
		return malloc(n);
	if (n == 0) {
		free(ptr);
		return NULL;
	}
	struct block *b = checked_block(ptr);
	size_t size = block_size_for(n);
	size_t old_size = block_size(b);

	if (!size) {
		errno = ENOMEM;
		return NULL;
	}
	if (size <= old_size) {
		trim(b, size);
		account_resize(b, old_size);
		return ptr;
	}
	/* Grow in place into the wilderness or a free block just above. */
	char *after = block_end(b);

	if (after == heap.brk) {
		if ((size_t)(heap.end - heap.brk) >= size - old_size) {
			heap.brk += size - old_size;
			if (heap.brk > heap.fresh)
				heap.fresh = heap.brk;
			set_block(b, size, false);
			account_resize(b, old_size);
			return ptr;
		}
	} else if (block_is_free(block_at(after)) &&
	           old_size + block_size(block_at(after)) >= size) {
		list_remove(block_at(after));
		set_block(b, old_size + block_size(block_at(after)), false);
		trim(b, size);
		account_resize(b, old_size);
		return ptr;
	}
	void *moved = malloc(n);

	if (!moved)
		return NULL;
	/* n is larger than the old usable size here, so copy all of that. */
	memcpy(moved, ptr, old_size - HEADER_SIZE);
	free(ptr);
	return moved;
}

void *aligned_alloc(size_t alignment, size_t n)
{
	if (!alignment || (alignment & (alignment - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (alignment <= ALIGNMENT)
		return malloc(n);
	size_t size = block_size_for(n);
	size_t padded;

	/* Room to slide the payload up to the alignment, leaving a block below. */
	if (!size || alignment > MAX_ARENA ||
	    __builtin_add_overflow(size, alignment + MIN_BLOCK, &padded) || padded > MAX_ARENA) {
		errno = ENOMEM;
		return NULL;
	}
	struct block *b = alloc_block(padded);

	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	uintptr_t p = (uintptr_t)payload(b);

	if (p & (alignment - 1)) {
		uintptr_t aligned = (p + MIN_BLOCK + alignment - 1) & ~(uintptr_t)(alignment - 1);
		struct block *moved = block_at((char *)(aligned - HEADER_SIZE));
		size_t lead = (char *)moved - (char *)b;
		size_t total = block_size(b);

		set_block(b, lead, true);
		set_block(moved, total - lead, false);
		release(b);
		b = moved;
	}
	trim(b, size);
	account_alloc(b);
	return payload(b);
}

int posix_memalign(void **memptr, size_t alignment, size_t n)
{
	int saved_errno = errno;

	if (alignment < sizeof(void *) || (alignment & (alignment - 1)))
		return EINVAL;
	void *p = aligned_alloc(alignment, n);

	/* posix_memalign reports through its result, leaving errno alone. */
	errno = saved_errno;
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

void heap_check(void)
{
	size_t free_blocks = 0, used_blocks = 0, used_bytes = 0, prev_size = 0;
	bool prev_free = false;

	for (char *at = heap.base; at < heap.brk;) {
		struct block *b = block_at(at);
		size_t size = block_size(b);

		if ((b->tag & TAG_MAGIC_MASK) != TAG_MAGIC || size < MIN_BLOCK ||
		    size > (size_t)(heap.brk - at) || b->prev_size != prev_size)
			heap_corruption("heap_check: bad block header", payload(b));
		if (block_is_free(b)) {
			if (prev_free)
				heap_corruption("heap_check: two free blocks not merged",
				                payload(b));
			free_blocks++;
		} else {
			used_blocks++;
			used_bytes += size;
		}
		prev_free = block_is_free(b);
		prev_size = size;
		at += size;
	}
	if (prev_free)
		heap_corruption("heap_check: free block not returned to the wilderness", heap.brk);
	if (prev_size != heap.last_size)
		heap_corruption("heap_check: last_size is stale", heap.brk);
	if (used_blocks != heap.alloc_count || used_bytes != heap.in_use)
		heap_corruption("heap_check: statistics disagree with the blocks", heap.brk);

	for (unsigned fl = 0; fl < FL_COUNT; fl++) {
		if (!heap.sl_bitmap[fl] != !(heap.fl_bitmap & ((uint64_t)1 << fl)))
			heap_corruption("heap_check: bitmaps disagree", NULL);
		for (unsigned sl = 0; sl < SL_COUNT; sl++) {
			struct block *prev = NULL;
			struct block *b = heap.free_lists[fl][sl];

			if (!b != !(heap.sl_bitmap[fl] & (1u << sl)))
				heap_corruption("heap_check: bitmap disagrees with list", NULL);
			for (; b; prev = b, b = b->next_free) {
				unsigned want_fl, want_sl;

				if ((char *)b < heap.base || (char *)b >= heap.brk ||
				    !block_is_free(b) || b->prev_free != prev)
					heap_corruption("heap_check: bad free list entry", b);
				size_class(block_size(b), &want_fl, &want_sl);
				if (want_fl != fl || want_sl != sl)
					heap_corruption("heap_check: block on the wrong list",
					                payload(b));
				if (!free_blocks--)
					heap_corruption("heap_check: more listed than free blocks",
					                b);
			}
		}
	}
	if (free_blocks)
		heap_corruption("heap_check: free block missing from the lists", NULL);
}
