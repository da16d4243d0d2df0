/*
 * tar.c - reads ustar archives in place (see tar.h).
 *
 * Every length read from the archive is checked against the bytes that are
 * really there before anything is dereferenced: a truncated or corrupt
 * archive ends with TAR_ERROR and a message, never with a read past its end.
 */
#include "tar.h"

#include <stdio.h>
#include <string.h>

/* Header field offsets and widths (POSIX ustar). */
#define H_NAME       0
#define H_NAME_LEN   100
#define H_MODE       100
#define H_SIZE       124
#define H_MTIME      136
#define H_CHKSUM     148
#define H_TYPE       156
#define H_LINK       157
#define H_LINK_LEN   100
#define H_MAGIC      257
#define H_PREFIX     345
#define H_PREFIX_LEN 155

/* GNU and pax metadata records describe names, not data: bound them. */
#define TAR_META_MAX (1u << 20)

static int fail(struct tar_reader *reader, const char *what)
{
	snprintf(reader->error, sizeof(reader->error), "%s at offset %zu", what, reader->offset);
	return TAR_ERROR;
}

static size_t field_len(const uint8_t *field, size_t max)
{
	size_t len = 0;
	while (len < max && field[len] != 0)
		len++;
	return len;
}

/*
 * Numeric fields are octal, padded with spaces or NULs; GNU tar stores
 * values that do not fit as big-endian base-256 with the top bit set.
 */
static int parse_number(const uint8_t *field, size_t width, uint64_t *out)
{
	uint64_t value = 0;
	if (field[0] & 0x80) {
		if (field[0] != 0x80)
			return -1; /* negative, or too big for 64 bits */
		for (size_t i = 1; i < width; i++) {
			if (value >> 56)
				return -1;
			value = value << 8 | field[i];
		}
		*out = value;
		return 0;
	}
	size_t i = 0;
	while (i < width && field[i] == ' ')
		i++;
	for (; i < width && field[i] >= '0' && field[i] <= '7'; i++) {
		if (value >> 61)
			return -1;
		value = value << 3 | (uint64_t)(field[i] - '0');
	}
	for (; i < width; i++) {
		if (field[i] != ' ' && field[i] != 0)
			return -1;
	}
	*out = value;
	return 0;
}

/* Old tars summed signed chars; accept either reading of the checksum. */
static int checksum_ok(const uint8_t *header)
{
	uint64_t stored;
	if (parse_number(header + H_CHKSUM, 8, &stored) != 0)
		return 0;
	uint64_t unsigned_sum = 0;
	int64_t signed_sum = 0;
	for (size_t i = 0; i < TAR_BLOCK; i++) {
		uint8_t byte = (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : header[i];
		unsigned_sum += byte;
		signed_sum += (int8_t)byte;
	}
	return stored == unsigned_sum || (int64_t)stored == signed_sum;
}

static int all_zero(const uint8_t *block)
{
	for (size_t i = 0; i < TAR_BLOCK; i++) {
		if (block[i])
			return 0;
	}
	return 1;
}

/* Trailing NULs pad GNU long names; they are not part of the name. */
static size_t strip_nuls(const uint8_t *data, size_t len)
{
	while (len > 0 && data[len - 1] == 0)
		len--;
	return len;
}

static int parse_decimal(const char *text, size_t len, uint64_t *out)
{
	uint64_t value = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9' || value > (UINT64_MAX - 9) / 10)
			return -1;
		value = value * 10 + (uint64_t)(text[i] - '0');
	}
	*out = value;
	return 0;
}

/* Pax records are "LEN key=value\n", LEN counting the whole record. */
static int parse_pax(struct tar_reader *reader, const uint8_t *data, size_t size)
{
	size_t pos = 0;
	while (pos < size) {
		if (data[pos] == 0)
			break; /* some writers pad the record block with NULs */
		size_t digits = 0;
		while (pos + digits < size && data[pos + digits] >= '0' &&
		       data[pos + digits] <= '9')
			digits++;
		uint64_t record_len;
		if (parse_decimal((const char *)data + pos, digits, &record_len) != 0 ||
		    record_len > size - pos || record_len < digits + 4 ||
		    data[pos + digits] != ' ' || data[pos + record_len - 1] != '\n')
			return fail(reader, "bad pax record");
		const char *key = (const char *)data + pos + digits + 1;
		const char *end = (const char *)data + pos + record_len - 1;
		const char *equals = memchr(key, '=', (size_t)(end - key));
		if (!equals)
			return fail(reader, "bad pax record");
		size_t key_len = (size_t)(equals - key);
		const char *value = equals + 1;
		size_t value_len = (size_t)(end - value);
		if (key_len == 4 && memcmp(key, "path", 4) == 0) {
			reader->next_name = value;
			reader->next_name_len = value_len;
		} else if (key_len == 8 && memcmp(key, "linkpath", 8) == 0) {
			reader->next_link = value;
			reader->next_link_len = value_len;
		} else if (key_len == 4 && memcmp(key, "size", 4) == 0) {
			if (parse_decimal(value, value_len, &reader->next_size) != 0)
				return fail(reader, "bad pax size");
			reader->has_next_size = 1;
		} else if (key_len == 5 && memcmp(key, "mtime", 5) == 0) {
			/* Sub-second digits and negative times are of no use here. */
			size_t whole = 0;
			while (whole < value_len && value[whole] != '.')
				whole++;
			if (parse_decimal(value, whole, &reader->next_mtime) == 0)
				reader->has_next_mtime = 1;
		}
		pos += record_len;
	}
	return 0;
}

void tar_reader_init(struct tar_reader *reader, const void *archive, size_t size)
{
	memset(reader, 0, sizeof(*reader));
	reader->archive = archive;
	reader->size = size;
}

static void forget_pending(struct tar_reader *reader)
{
	reader->next_name = reader->next_link = NULL;
	reader->next_name_len = reader->next_link_len = 0;
	reader->has_next_size = reader->has_next_mtime = 0;
}

static enum tar_type classify(char raw_type)
{
	switch (raw_type) {
	case '0':
	case '\0':
	case '7': /* contiguous file: a regular file everywhere that matters */
		return TAR_FILE;
	case '1':
		return TAR_HARDLINK;
	case '2':
		return TAR_SYMLINK;
	case '5':
		return TAR_DIR;
	default:
		return TAR_OTHER;
	}
}

/* Links, directories, devices and FIFOs carry no data whatever size says. */
static int has_data(char raw_type)
{
	return !(raw_type >= '1' && raw_type <= '6');
}

int tar_next(struct tar_reader *reader, struct tar_entry *entry)
{
	for (;;) {
		size_t left = reader->size - reader->offset;
		if (left == 0)
			return TAR_END;
		if (left < TAR_BLOCK)
			return fail(reader, "truncated header");
		const uint8_t *header = reader->archive + reader->offset;
		if (all_zero(header))
			return TAR_END;
		if (!checksum_ok(header))
			return fail(reader, "bad header checksum");

		char raw_type = (char)header[H_TYPE];
		uint64_t size, mtime, mode;
		if (parse_number(header + H_SIZE, 12, &size) != 0)
			return fail(reader, "bad size field");
		if (parse_number(header + H_MTIME, 12, &mtime) != 0)
			mtime = 0; /* a bad time is no reason to refuse the file */
		if (parse_number(header + H_MODE, 8, &mode) != 0)
			mode = 0;
		if (reader->has_next_size)
			size = reader->next_size;
		if (reader->has_next_mtime)
			mtime = reader->next_mtime;
		if (!has_data(raw_type))
			size = 0;

		size_t room = left - TAR_BLOCK;
		if (size > room)
			return fail(reader, "truncated data");
		const uint8_t *data = header + TAR_BLOCK;
		/* size <= room, so rounding up cannot overflow. */
		size_t padded = ((size_t)size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
		size_t next_offset = reader->offset + TAR_BLOCK + (padded < room ? padded : room);

		if (raw_type == 'L' || raw_type == 'K' || raw_type == 'x' || raw_type == 'g') {
			if (size > TAR_META_MAX)
				return fail(reader, "metadata entry too large");
			if (raw_type == 'L') {
				reader->next_name = (const char *)data;
				reader->next_name_len = strip_nuls(data, (size_t)size);
			} else if (raw_type == 'K') {
				reader->next_link = (const char *)data;
				reader->next_link_len = strip_nuls(data, (size_t)size);
			} else if (raw_type == 'x') {
				if (parse_pax(reader, data, (size_t)size) != 0)
					return TAR_ERROR;
			}
			reader->offset = next_offset;
			continue;
		}

		memset(entry, 0, sizeof(*entry));
		entry->raw_type = raw_type;
		entry->type = classify(raw_type);
		entry->mtime = mtime;
		entry->mode = (uint32_t)(mode & 07777);
		entry->data = data;
		entry->size = size;

		if (reader->next_name) {
			entry->name = reader->next_name;
			entry->name_len = reader->next_name_len;
		} else {
			size_t name_len = field_len(header + H_NAME, H_NAME_LEN);
			size_t prefix_len = 0;
			/* Only POSIX ustar has a prefix; GNU uses those bytes otherwise. */
			if (memcmp(header + H_MAGIC, "ustar\0", 6) == 0)
				prefix_len = field_len(header + H_PREFIX, H_PREFIX_LEN);
			char *out = reader->name_buf;
			if (prefix_len) {
				memcpy(out, header + H_PREFIX, prefix_len);
				out[prefix_len] = '/';
				out += prefix_len + 1;
			}
			memcpy(out, header + H_NAME, name_len);
			entry->name = reader->name_buf;
			entry->name_len = (size_t)(out - reader->name_buf) + name_len;
		}
		if (reader->next_link) {
			entry->link = reader->next_link;
			entry->link_len = reader->next_link_len;
		} else {
			entry->link = (const char *)header + H_LINK;
			entry->link_len = field_len(header + H_LINK, H_LINK_LEN);
		}
		/* Pre-POSIX tars mark directories only by a trailing slash. */
		if (entry->type == TAR_FILE && entry->name_len > 0 &&
		    entry->name[entry->name_len - 1] == '/') {
			entry->type = TAR_DIR;
			entry->size = 0;
		}
		forget_pending(reader);
		reader->offset = next_offset;
		return TAR_ENTRY;
	}
}
