/*
 * CRC32C.  On x86-64 with SSE4.2 the crc32 instruction does the work
 * (detected at run time); elsewhere slicing-by-8 over tables built once.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "crc32c.h"

#define CRC32C_POLY	0x82f63b78u

static uint32_t		crc32c_table[8][256];
static pthread_once_t	crc32c_once = PTHREAD_ONCE_INIT;

static void
crc32c_init_tables(void)
{
	uint32_t c;
	int i, j, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = crc32c_table[0][i];
		for (k = 1; k < 8; k++) {
			c = (c >> 8) ^ crc32c_table[0][c & 0xff];
			crc32c_table[k][i] = c;
		}
	}
}

/* Little-endian 32-bit load regardless of host order and alignment. */
static inline uint32_t
crc32c_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint32_t
crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	const uint32_t (*t)[256] = crc32c_table;
	uint32_t a, b;

	pthread_once(&crc32c_once, crc32c_init_tables);
	crc = ~crc;
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		a = crc32c_le32(p) ^ crc;
		b = crc32c_le32(p + 4);
		crc = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^
		    t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
		    t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^
		    t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
		p += 8;
		len -= 8;
	}
	while (len > 0) {
		crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
		len--;
	}
	return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = ~crc, w;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len > 0) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	return ~(uint32_t)c;
}

uint32_t
crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_hw(crc, buf, len);
	return crc32c_sw(crc, buf, len);
}
#else
uint32_t
crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_sw(crc, buf, len);
}
#endif
