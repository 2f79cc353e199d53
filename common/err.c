#include "err.h"

const char *
mo_strerror(int e)
{
	switch (e) {
#define MO_ERR_CASE(name, val, text)                                    \
	case val:                                                       \
		return text;
		MO_ERRORS(MO_ERR_CASE)
#undef MO_ERR_CASE
	}
	return "unknown error";
}
