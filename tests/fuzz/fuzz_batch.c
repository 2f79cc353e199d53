/*
 * Fuzz target for record batches: validates each batch in the input in
 * turn, reads every record and header of the valid ones, and checks that
 * the in-place edits keep a valid batch valid.  A second pass fixes each
 * batch's CRC first, so that mutations reach the records and codecs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "err.h"
#include "rd.h"
#include "wbuf.h"

#define FUZZ_MAX_DECOMPRESSED	(4 * 1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_records(const uint8_t *p, const struct batch_info *bi)
{
	struct wbuf tmp = { 0 };
	struct record rec;
	struct record_header h;
	struct rd r, hr;
	int32_t i;

	if (batch_records(p, bi, FUZZ_MAX_DECOMPRESSED, &tmp, &r) != 0)
		abort();	/* batch_validate just succeeded */
	for (i = 0; i < bi->record_count; i++) {
		if (batch_records_next(&r, &rec) != 0)
			abort();
		rd_init(&hr, rec.headers, rec.headers_len);
		while (rd_left(&hr) > 0)
			if (record_headers_next(&hr, &h) != 0)
				abort();
	}
	if (rd_done(&r) != 0)
		abort();
	wbuf_clear(&tmp);
}

static void
fuzz_edit(const uint8_t *p, const struct batch_info *bi)
{
	size_t size = batch_size(bi);
	struct batch_info again;
	uint8_t *c = malloc(size);

	if (c == NULL)
		return;
	memcpy(c, p, size);
	batch_set_base_offset(c, 12345);
	batch_set_leader_epoch(c, 7);
	batch_set_log_append_time(c, size, 1700000000000);
	if (batch_validate(c, size, FUZZ_MAX_DECOMPRESSED, &again) != 0 ||
	    again.base_offset != 12345 ||
	    (again.attributes & BATCH_ATTR_LOG_APPEND_TIME) == 0)
		abort();
	free(c);
}

static void
fuzz_batches(uint8_t *data, size_t len, int fix_crc)
{
	struct batch_info bi;

	while (len > 0) {
		if (fix_crc && batch_header_parse(data, len, &bi) == 0)
			batch_update_crc(data, len);
		if (batch_validate(data, len, FUZZ_MAX_DECOMPRESSED, &bi) != 0)
			break;
		fuzz_records(data, &bi);
		fuzz_edit(data, &bi);
		data += batch_size(&bi);
		len -= batch_size(&bi);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t *copy;

	if ((copy = malloc(len == 0 ? 1 : len)) == NULL)
		return 0;
	if (len > 0)
		memcpy(copy, data, len);
	fuzz_batches(copy, len, 0);
	if (len > 0)
		memcpy(copy, data, len);
	fuzz_batches(copy, len, 1);
	free(copy);
	return 0;
}
