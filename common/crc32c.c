/*
 * CRC32C.  On x86-64 with SSE4.2 the crc32 instruction does the work
 * (detected at run time), three streams at a time on long buffers;
 * elsewhere slicing-by-8 over tables built once.
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

/*
 * The crc32 instruction has a latency of three cycles and a throughput of
 * one: three independent streams over adjacent blocks keep it busy, and
 * the block CRCs are combined by "appending" zeros, a linear operator on
 * the CRC applied through tables (after Mark Adler's crc32c.c).
 */
#define CRC32C_LONG	8192
#define CRC32C_SHORT	256

static uint32_t		crc32c_long[4][256];
static uint32_t		crc32c_short[4][256];
static pthread_once_t	crc32c_hw_once = PTHREAD_ONCE_INIT;

/* mat * vec over GF(2): a 32x32 matrix as 32 column vectors. */
static uint32_t
crc32c_gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;

	while (vec) {
		if (vec & 1)
			sum ^= *mat;
		vec >>= 1;
		mat++;
	}
	return sum;
}

static void
crc32c_gf2_square(uint32_t *sq, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		sq[n] = crc32c_gf2_times(mat, mat[n]);
}

/* The operator for appending len zero bytes to a CRC (len > 1, 2^k). */
static void
crc32c_zeros_op(uint32_t *even, size_t len)
{
	uint32_t odd[32], row = 1;

	odd[0] = CRC32C_POLY;		/* one zero bit */
	for (int n = 1; n < 32; n++) {
		odd[n] = row;
		row <<= 1;
	}
	crc32c_gf2_square(even, odd);	/* two zero bits */
	crc32c_gf2_square(odd, even);	/* four */
	/* Each pass squares: eight zero bits (one byte) first. */
	do {
		crc32c_gf2_square(even, odd);
		len >>= 1;
		if (len == 0)
			return;
		crc32c_gf2_square(odd, even);
		len >>= 1;
	} while (len);
	memcpy(even, odd, sizeof(odd));
}

/* Tables applying the operator for len zeros a byte at a time. */
static void
crc32c_zeros(uint32_t zeros[][256], size_t len)
{
	uint32_t op[32];

	crc32c_zeros_op(op, len);
	for (uint32_t n = 0; n < 256; n++) {
		zeros[0][n] = crc32c_gf2_times(op, n);
		zeros[1][n] = crc32c_gf2_times(op, n << 8);
		zeros[2][n] = crc32c_gf2_times(op, n << 16);
		zeros[3][n] = crc32c_gf2_times(op, n << 24);
	}
}

static void
crc32c_hw_init(void)
{
	crc32c_zeros(crc32c_long, CRC32C_LONG);
	crc32c_zeros(crc32c_short, CRC32C_SHORT);
}

static inline uint32_t
crc32c_shift(const uint32_t zeros[][256], uint32_t crc)
{
	return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^
	    zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

static inline uint64_t
crc32c_ld64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf, *end;
	uint64_t c0 = ~crc, c1, c2;

	pthread_once(&crc32c_hw_once, crc32c_hw_init);
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c0 = _mm_crc32_u8((uint32_t)c0, *p++);
		len--;
	}
	while (len >= CRC32C_LONG * 3) {
		c1 = c2 = 0;
		end = p + CRC32C_LONG;
		do {
			c0 = _mm_crc32_u64(c0, crc32c_ld64(p));
			c1 = _mm_crc32_u64(c1, crc32c_ld64(p + CRC32C_LONG));
			c2 = _mm_crc32_u64(c2,
			    crc32c_ld64(p + 2 * CRC32C_LONG));
			p += 8;
		} while (p < end);
		c0 = crc32c_shift(crc32c_long, (uint32_t)c0) ^ c1;
		c0 = crc32c_shift(crc32c_long, (uint32_t)c0) ^ c2;
		p += 2 * CRC32C_LONG;
		len -= 3 * CRC32C_LONG;
	}
	while (len >= CRC32C_SHORT * 3) {
		c1 = c2 = 0;
		end = p + CRC32C_SHORT;
		do {
			c0 = _mm_crc32_u64(c0, crc32c_ld64(p));
			c1 = _mm_crc32_u64(c1, crc32c_ld64(p + CRC32C_SHORT));
			c2 = _mm_crc32_u64(c2,
			    crc32c_ld64(p + 2 * CRC32C_SHORT));
			p += 8;
		} while (p < end);
		c0 = crc32c_shift(crc32c_short, (uint32_t)c0) ^ c1;
		c0 = crc32c_shift(crc32c_short, (uint32_t)c0) ^ c2;
		p += 2 * CRC32C_SHORT;
		len -= 3 * CRC32C_SHORT;
	}
	while (len >= 8) {
		c0 = _mm_crc32_u64(c0, crc32c_ld64(p));
		p += 8;
		len -= 8;
	}
	while (len > 0) {
		c0 = _mm_crc32_u8((uint32_t)c0, *p++);
		len--;
	}
	return ~(uint32_t)c0;
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
