/* safetensors: reading and writing the safetensors tensor file format.
 *
 * Owns: the byte layout (https://github.com/huggingface/safetensors) and its
 * validation. A file is
 *     u64 little-endian N | N bytes of JSON header | data section
 * The header maps each tensor name to {"dtype", "shape", "data_offsets":
 * [begin, end]} (offsets relative to the data section) plus an optional
 * "__metadata__" object whose values are all strings. We pad the header with
 * spaces to a multiple of 8 so every tensor starts 8-byte aligned in the file.
 * Tensors tile the data section exactly: no gaps, no overlaps, nothing after.
 * Tensors are packed back to back, so a tensor's data is aligned to its element
 * size only if the tensors before it keep it so (write wider dtypes first, as
 * Python's writer does; a reader of an arbitrary file should memcpy).
 * Data is raw little-endian; this module assumes a little-endian host.
 *
 * Our writer adds "payload_sha256" (hex SHA-256 of the whole data section) to
 * the metadata; readers check it when asked to, so a corrupt checkpoint is
 * caught rather than loaded.
 *
 * Does not own: tensor names or which tensors a checkpoint holds (lib/nn/ckpt),
 * dtype conversion, or what the metadata values mean.
 *
 * Errors: functions return NULL / -1 and fill err with one line naming the file
 * (or the name given for a memory buffer) and the byte offset or tensor at
 * fault. Nothing here prints or exits. */
#ifndef DD_SAFETENSORS_H
#define DD_SAFETENSORS_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

typedef enum { ST_F32, ST_F16, ST_BF16, ST_I32, ST_I64, ST_U8, ST_U16, ST_U32 } StDtype;
#define ST_MAX_NDIM 8
#define ST_NAME_LEN 256   /* names are at most 255 bytes */

typedef struct {
    char        name[ST_NAME_LEN];
    StDtype     dtype;
    int         ndim;                 /* 0 = scalar (one element) */
    int64_t     shape[ST_MAX_NDIM];
    const void* data;                 /* nbytes bytes, little-endian */
    size_t      nbytes;               /* = prod(shape) * st_dtype_size(dtype) */
} StTensor;

size_t      st_dtype_size(StDtype d);            /* bytes per element */
const char* st_dtype_name(StDtype d);            /* "F32", "BF16", ... */
int         st_dtype_parse(const char* s, StDtype* out);   /* 0 or -1 */

/* Write n tensors to path atomically (lib/base/atomic.h), in the order given (so
 * data offsets increase in that order). metadata may be NULL; otherwise it
 * must be a JSON object whose values are strings; it is not modified. The
 * payload's SHA-256 (hex) is added as "payload_sha256", replacing any value of
 * that key. Rejects duplicate names, names of 256+ bytes or "__metadata__",
 * ndim outside 0..8, negative dims and nbytes that disagree with the shape. */
int st_write(const char* path, const StTensor* tensors, int n, const json_t* metadata, char err[ERR_LEN]);

typedef struct SafeTensors SafeTensors;

/* Map path read-only and validate everything: header length against the file
 * size, the JSON (duplicate keys rejected), dtypes, shape x dtype size equal to
 * the offsets' span, exact tiling, string metadata. With verify_checksum, and
 * when "payload_sha256" is present, hashes the data section and fails with
 * "checksum mismatch" if it differs. Tensor data points into the mapping and
 * lives until st_close. */
SafeTensors* st_open(const char* path, int verify_checksum, char err[ERR_LEN]);

/* The same on a memory buffer. The buffer is BORROWED: tensor data points into
 * it, so it must outlive the handle. name_for_errors (may be NULL) prefixes
 * error messages in place of a file name. */
SafeTensors* st_parse(const void* buf, size_t len, const char* name_for_errors, int verify_checksum, char err[ERR_LEN]);

int             st_count(const SafeTensors* s);
const StTensor* st_tensor(const SafeTensors* s, int i);          /* file order (by data offset) */
const StTensor* st_find(const SafeTensors* s, const char* name); /* NULL if absent */
const char*     st_meta(const SafeTensors* s, const char* key);  /* NULL if absent */
void            st_close(SafeTensors* s);                        /* NULL is fine */

#endif
