#include <stdint.h>

#include "kerr.h"

const char *
kerr_name(int16_t code)
{
	switch (code) {
#define KERR_CASE(name, val)                                            \
	case val:                                                       \
		return #name;
		KERR_ERRORS(KERR_CASE)
#undef KERR_CASE
	default:
		return "UNKNOWN";
	}
}
