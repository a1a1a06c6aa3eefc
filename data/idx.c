/* idx.c: the IDX format of MNIST and Fashion-MNIST.
 *
 * An IDX file is: 0x00 0x00, a type byte (0x08 = unsigned byte, the only
 * type these datasets use), the number of dims, then each dim as a 32-bit
 * big-endian integer, then prod(dims) elements. The files are usually
 * gzip-compressed; zlib's gzopen/gzread read both forms, so one code path
 * handles raw and .gz. The reader is strict: bad magic, a type other than
 * unsigned byte, the wrong number of dims, missing bytes (truncated) and
 * bytes after the data are all errors naming the file. The product of the
 * dims is checked against 64 GiB before each multiply, and only regular
 * files are opened (a FIFO would block).
 */
#include "data/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "tensor/safetensors.h" /* nx_open_regular */

#define IDX_MAX_BYTES ((int64_t)1 << 36) /* 64 GiB */

/* Read up to n bytes; returns the count, or -1 with a message in *err when
 * zlib reports corrupt data (a cut-off gzip stream counts as a short read). */
static int64_t gz_read_all(gzFile gz, uint8_t *dst, int64_t n, const char **err) {
    int64_t got = 0;
    *err = NULL;
    while (got < n) {
        int64_t chunk = n - got < (1 << 30) ? n - got : (1 << 30);
        int r = gzread(gz, dst + got, (unsigned)chunk);
        if (r < 0) {
            int errnum;
            const char *msg = gzerror(gz, &errnum);
            if (errnum == Z_BUF_ERROR) return got; /* unexpected end of a gzip stream: truncated */
            *err = errnum == Z_ERRNO ? strerror(errno) : msg;
            return -1;
        }
        if (r == 0) break;
        got += r;
    }
    return got;
}

static const char *idx_type_name(int t) {
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

int idx_read(const char *path, int want_ndim, const char *what, uint8_t **data, int *ndim, int64_t dims[4]) {
    *data = NULL;
    int fd = nx_open_regular(path, NULL); /* a FIFO or a directory is refused, never waited on */
    if (fd < 0) return -1;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        nx_error_set("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
        close(fd);
        return -1;
    }
    gzbuffer(gz, 1 << 17);
    const char *err;
    uint8_t head[4 + 4 * 4];
    int64_t got = gz_read_all(gz, head, 4, &err);
    if (got < 0) goto corrupt;
    if (got < 4) {
        nx_error_set("%s: truncated: %lld bytes, too short for an IDX header", path, (long long)got);
        goto fail;
    }
    if (head[0] != 0 || head[1] != 0 || head[3] < 1 || head[3] > 4) {
        nx_error_set("%s: not an IDX file: magic %02x %02x %02x %02x, expected 00 00 08 0N", path, head[0], head[1],
                     head[2], head[3]);
        goto fail;
    }
    if (head[2] != 0x08) {
        nx_error_set("%s: unsupported IDX element type 0x%02x (%s); expected 0x08 (unsigned byte)", path, head[2],
                     idx_type_name(head[2]));
        goto fail;
    }
    *ndim = head[3];
    if (want_ndim && *ndim != want_ndim) {
        nx_error_set("%s: expected a %d-dim IDX file of %s (magic 00 00 08 %02x), found %d dims", path, want_ndim,
                     what, want_ndim, *ndim);
        goto fail;
    }
    got = gz_read_all(gz, head + 4, 4 * *ndim, &err);
    if (got < 0) goto corrupt;
    if (got < 4 * *ndim) {
        nx_error_set("%s: truncated: the header ends after %lld of its %d dimension bytes", path, (long long)got,
                     4 * *ndim);
        goto fail;
    }
    int64_t total = 1;
    for (int d = 0; d < *ndim; d++) {
        const uint8_t *p = head + 4 + 4 * d;
        uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (v > INT32_MAX) {
            nx_error_set("%s: dimension %d is %u: not a plausible size", path, d, v);
            goto fail;
        }
        dims[d] = v;
        /* checked before the multiply: a product that wraps could pass any later test */
        if (v != 0 && total > IDX_MAX_BYTES / (int64_t)v) {
            nx_error_set("%s: dims say over 64 GiB of %s: not a plausible size", path, what);
            goto fail;
        }
        total *= v;
    }
    /* Grow the buffer as data arrives, so that a corrupt header cannot make
     * us allocate gigabytes before noticing the file is short. */
    int64_t cap = total < (1 << 20) ? total : (1 << 20), have = 0;
    uint8_t *buf = nx_malloc((size_t)(cap ? cap : 1));
    while (have < total) {
        if (have == cap) {
            cap = cap * 2 < total ? cap * 2 : total;
            buf = nx_realloc(buf, (size_t)cap);
        }
        int64_t want = cap - have;
        got = gz_read_all(gz, buf + have, want, &err);
        if (got < 0) {
            free(buf);
            goto corrupt;
        }
        have += got;
        if (got < want) break; /* short read: end of data */
    }
    if (have < total) {
        nx_error_set("%s: truncated: expected %lld bytes of %s, found %lld", path, (long long)total, what,
                     (long long)have);
        free(buf);
        goto fail;
    }
    uint8_t extra[4096];
    int64_t more = 0, r;
    while ((r = gz_read_all(gz, extra, sizeof extra, &err)) > 0) more += r;
    if (r < 0) {
        free(buf);
        goto corrupt;
    }
    if (more > 0) {
        nx_error_set("%s: %lld bytes after the %lld bytes of %s that the header announces", path, (long long)more,
                     (long long)total, what);
        free(buf);
        goto fail;
    }
    gzclose(gz);
    *data = buf;
    return 0;
corrupt: {
    size_t n = strlen(path); /* zlib's message may already start with "path: " */
    if (strncmp(err, path, n) == 0 && strncmp(err + n, ": ", 2) == 0) err += n + 2;
    nx_error_set("%s: corrupt gzip data: %s", path, err);
}
fail:
    gzclose(gz);
    return -1;
}
