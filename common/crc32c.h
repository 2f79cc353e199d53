/*
 * CRC32C (Castagnoli, reflected polynomial 0x82f63b78), as used by Kafka
 * record batches.  Start with crc 0; feed the previous result to continue:
 * crc32c(crc32c(0, a, n), b, m) == crc32c(0, ab, n + m).
 */
#ifndef MO_CRC32C_H
#define MO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t	crc32c(uint32_t crc, const void *, size_t);
/* The portable implementation, whatever the CPU offers (for tests). */
uint32_t	crc32c_sw(uint32_t crc, const void *, size_t);

#endif
