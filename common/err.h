/* moldau internal error codes: 0 or a negative MO_E*. */
#ifndef MO_ERR_H
#define MO_ERR_H

#define MO_ERRORS(X)                                                    \
	X(MO_OK, 0, "success")                                          \
	X(MO_ESHORT, -1, "short read")                                  \
	X(MO_EMALFORMED, -2, "malformed data")                          \
	X(MO_ENOMEM, -3, "out of memory")                               \
	X(MO_EOVERFLOW, -4, "size overflow")                            \
	X(MO_EIO, -5, "input/output error")                             \
	X(MO_EINVAL, -6, "invalid argument")                            \
	X(MO_ENOTFOUND, -7, "not found")                                \
	X(MO_EEXIST, -8, "already exists")                              \
	X(MO_EVERSION, -9, "unsupported version")                       \
	X(MO_ECRC, -10, "checksum mismatch")                            \
	X(MO_ETOOBIG, -11, "too large")                                 \
	X(MO_ECONFIG, -12, "configuration error")                       \
	X(MO_ECODEC, -13, "compression codec error")

enum mo_err {
#define MO_ERR_ENUM(name, val, text) name = val,
	MO_ERRORS(MO_ERR_ENUM)
#undef MO_ERR_ENUM
};

const char *mo_strerror(int);

#endif
