/* safetensors.c: safetensors checkpoints (format in safetensors.h).
 *
 * Reading: the 8-byte header length, the header (at most 100 MB, as the
 * reference implementation allows, and at most ST_MAX_TENSORS tensors and
 * ST_MAX_META metadata entries), a strict JSON parse into StTensorInfo
 * records, then validation: known dtypes, end - begin = numel * element
 * size, the tensors tile the data section with no hole or overlap (as the
 * reference implementation requires), and the file holds exactly
 * 8 + header + data bytes. Loading into a ParamStore checks every name,
 * shape and dtype before any data is read.
 *
 * Writing: header built in memory, padded with spaces to a multiple of 8,
 * then the data of each tensor in order, through an AtomicFile.
 */
#include "tensor/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define ST_MAX_HEADER (100u << 20)

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = nx_malloc(n);
    memcpy(p, s, n);
    return p;
}

/* ---- dtypes ------------------------------------------------------------- */

static const struct {
    const char *name;
    int size;
} DTYPES[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
              {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"F64", 8},     {"I64", 8}, {"U64", 8}};

static int dtype_size(const char *name) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].name, name) == 0) return DTYPES[i].size;
    return 0;
}

/* Half precision <-> fp32, bit exact (IEEE 754 binary16; bfloat16 is the
 * top 16 bits of an fp32). Narrowing rounds to nearest, ties to even, as
 * torch's .half() and .bfloat16() do: F16 overflows to inf from 65520 on and
 * keeps subnormals; NaN stays NaN (quiet). */
float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0x1f) bits = sign | 0x7f800000u | (m << 13);   /* inf, NaN */
    else if (e) bits = sign | ((e + 112) << 23) | (m << 13); /* normal: rebias 15 -> 127 */
    else if (!m) bits = sign;                                /* +-0 */
    else {                                                   /* subnormal: m * 2^-24 */
        uint32_t shift = 0;
        while (!(m & 0x400)) m <<= 1, shift++;
        bits = sign | ((113 - shift) << 23) | ((m & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t st_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff)); /* NaN, quiet */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to 65536 or more: inf */
    if (ax < 0x38800000u) {                                   /* below 2^-14: subnormal or 0 */
        if (ax <= 0x33000000u) return (uint16_t)sign;         /* up to 2^-25 (a tie with 0): 0 */
        uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* value = m * 2^(e - 150) = (m >> shift) * 2^-24 */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ax - 0x38000000u; /* rebias 127 -> 15, the mantissa in place */
    uint32_t out = r >> 13, rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (out & 1))) out++; /* a carry into the exponent is right */
    return (uint16_t)(sign | out);
}

float st_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t st_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* NaN, quiet */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

/* ---- a small strict JSON parser for the header -------------------------- */

typedef struct {
    const char *path;
    const char *s; /* the header */
    size_t n, pos;
    bool failed;
} Json;

static int json_fail(Json *j, const char *what) {
    if (!j->failed) nx_error_set("%s: bad header JSON at byte %zu of the header: %s", j->path, j->pos, what);
    j->failed = true;
    return -1;
}

static void json_ws(Json *j) {
    while (j->pos < j->n && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' || j->s[j->pos] == '\n' ||
                             j->s[j->pos] == '\r'))
        j->pos++;
}

static int json_expect(Json *j, char c, const char *what) {
    json_ws(j);
    if (j->pos >= j->n || j->s[j->pos] != c) return json_fail(j, what);
    j->pos++;
    return 0;
}

static int json_peek(Json *j) {
    json_ws(j);
    return j->pos < j->n ? (unsigned char)j->s[j->pos] : -1;
}

static int hex4(const char *p, uint32_t *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

static size_t utf8_put(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A JSON string -> malloc'd UTF-8 (escapes decoded). */
static char *json_string(Json *j) {
    if (json_expect(j, '"', "expected a string") != 0) return NULL;
    size_t start = j->pos;
    /* the decoded string is never longer than the source text */
    size_t end = start;
    while (end < j->n && j->s[end] != '"') end += j->s[end] == '\\' ? 2 : 1;
    if (end >= j->n) {
        json_fail(j, "unterminated string");
        return NULL;
    }
    char *out = nx_malloc(end - start + 1), *o = out;
    while (j->pos < j->n && j->s[j->pos] != '"') {
        unsigned char c = (unsigned char)j->s[j->pos];
        if (c < 0x20) {
            json_fail(j, "control character in a string");
            free(out);
            return NULL;
        }
        if (c != '\\') {
            *o++ = (char)c;
            j->pos++;
            continue;
        }
        if (j->pos + 1 >= j->n) break;
        char e = j->s[j->pos + 1];
        j->pos += 2;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (j->pos + 4 > j->n || hex4(j->s + j->pos, &cp) != 0) goto bad_escape;
            j->pos += 4;
            if (cp >= 0xD800 && cp < 0xDC00) { /* surrogate pair */
                if (j->pos + 6 > j->n || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u' ||
                    hex4(j->s + j->pos + 2, &lo) != 0 || lo < 0xDC00 || lo >= 0xE000)
                    goto bad_escape;
                j->pos += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                goto bad_escape;
            }
            if (cp == 0) goto bad_escape; /* names are C strings */
            o += utf8_put(o, cp);
            break;
        }
        default:
        bad_escape:
            json_fail(j, "bad escape in a string");
            free(out);
            return NULL;
        }
    }
    if (j->pos >= j->n) {
        json_fail(j, "unterminated string");
        free(out);
        return NULL;
    }
    j->pos++; /* closing quote */
    *o = 0;
    return out;
}

/* A non-negative integer without sign, fraction or exponent. */
static int json_uint(Json *j, uint64_t *v) {
    json_ws(j);
    size_t p = j->pos;
    if (p >= j->n || j->s[p] < '0' || j->s[p] > '9') return json_fail(j, "expected a non-negative integer");
    if (j->s[p] == '0' && p + 1 < j->n && j->s[p + 1] >= '0' && j->s[p + 1] <= '9')
        return json_fail(j, "number with a leading zero");
    uint64_t x = 0;
    while (p < j->n && j->s[p] >= '0' && j->s[p] <= '9') {
        uint64_t d = (uint64_t)(j->s[p] - '0');
        if (x > (UINT64_MAX - d) / 10) return json_fail(j, "integer too large");
        x = x * 10 + d;
        p++;
    }
    if (p < j->n && (j->s[p] == '.' || j->s[p] == 'e' || j->s[p] == 'E')) {
        j->pos = p;
        return json_fail(j, "expected an integer, found a fraction or exponent");
    }
    j->pos = p;
    *v = x;
    return 0;
}

/* [u, u, ...] with at most max entries. */
static int json_uint_array(Json *j, uint64_t *out, int max, int *count) {
    if (json_expect(j, '[', "expected '['") != 0) return -1;
    *count = 0;
    if (json_peek(j) == ']') {
        j->pos++;
        return 0;
    }
    for (;;) {
        if (*count >= max) return json_fail(j, "too many entries in an array");
        if (json_uint(j, &out[(*count)++]) != 0) return -1;
        int c = json_peek(j);
        if (c == ',') {
            j->pos++;
            continue;
        }
        if (c == ']') {
            j->pos++;
            return 0;
        }
        return json_fail(j, "expected ',' or ']' in an array");
    }
}

static void sf_reset(SafetensorsFile *sf) { memset(sf, 0, sizeof *sf); }

void safetensors_close(SafetensorsFile *sf) {
    if (sf->f) fclose(sf->f);
    for (int i = 0; i < sf->n; i++) free(sf->t[i].name);
    for (int i = 0; i < sf->n_meta; i++) {
        free(sf->meta_key[i]);
        free(sf->meta_val[i]);
    }
    free(sf->t);
    free(sf->meta_key);
    free(sf->meta_val);
    free(sf->path);
    sf_reset(sf);
}

static int parse_metadata(Json *j, SafetensorsFile *sf) {
    if (json_expect(j, '{', "expected '{' after \"__metadata__\"") != 0) return -1;
    if (json_peek(j) == '}') {
        j->pos++;
        return 0;
    }
    for (;;) {
        char *k = json_string(j);
        if (!k) return -1;
        if (json_expect(j, ':', "expected ':' after a key") != 0) {
            free(k);
            return -1;
        }
        if (json_peek(j) != '"') {
            free(k);
            return json_fail(j, "__metadata__ values must be strings");
        }
        char *v = json_string(j);
        if (!v) {
            free(k);
            return -1;
        }
        if (sf->n_meta >= ST_MAX_META) {
            free(k);
            free(v);
            return json_fail(j, "more than 4096 __metadata__ entries");
        }
        sf->meta_key = nx_realloc(sf->meta_key, (size_t)(sf->n_meta + 1) * sizeof(char *));
        sf->meta_val = nx_realloc(sf->meta_val, (size_t)(sf->n_meta + 1) * sizeof(char *));
        sf->meta_key[sf->n_meta] = k;
        sf->meta_val[sf->n_meta] = v;
        sf->n_meta++;
        int c = json_peek(j);
        if (c == ',') {
            j->pos++;
            continue;
        }
        if (c == '}') {
            j->pos++;
            return 0;
        }
        return json_fail(j, "expected ',' or '}' in __metadata__");
    }
}

static int parse_tensor(Json *j, StTensorInfo *ti) {
    if (json_expect(j, '{', "expected '{' for a tensor entry") != 0) return -1;
    bool have_dtype = false, have_shape = false, have_offsets = false;
    for (;;) {
        size_t key_pos = j->pos;
        char *k = json_string(j);
        if (!k) return -1;
        if (json_expect(j, ':', "expected ':' after a key") != 0) {
            free(k);
            return -1;
        }
        int rc = 0;
        if (strcmp(k, "dtype") == 0 && !have_dtype) {
            char *d = json_string(j);
            if (!d) rc = -1;
            else if (!(ti->elem_size = dtype_size(d))) {
                char msg[96];
                snprintf(msg, sizeof msg, "unknown dtype \"%.40s\" of '%.20s'", d, ti->name);
                rc = json_fail(j, msg);
            } else {
                snprintf(ti->dtype, sizeof ti->dtype, "%s", d);
            }
            free(d);
            have_dtype = true;
        } else if (strcmp(k, "shape") == 0 && !have_shape) {
            uint64_t dims[ST_MAX_DIMS];
            rc = json_uint_array(j, dims, ST_MAX_DIMS, &ti->ndim);
            for (int i = 0; rc == 0 && i < ti->ndim; i++) {
                if (dims[i] > INT32_MAX) rc = json_fail(j, "dimension too large");
                ti->shape[i] = (int64_t)dims[i];
            }
            have_shape = true;
        } else if (strcmp(k, "data_offsets") == 0 && !have_offsets) {
            uint64_t off[2];
            int cnt = 0;
            rc = json_uint_array(j, off, 2, &cnt);
            if (rc == 0 && cnt != 2) rc = json_fail(j, "data_offsets needs two integers");
            ti->begin = off[0];
            ti->end = off[1];
            have_offsets = true;
        } else {
            j->pos = key_pos;
            char msg[96];
            snprintf(msg, sizeof msg, "unexpected or repeated key \"%.40s\" in a tensor entry", k);
            rc = json_fail(j, msg);
        }
        free(k);
        if (rc != 0) return -1;
        int c = json_peek(j);
        if (c == ',') {
            j->pos++;
            continue;
        }
        if (c == '}') {
            j->pos++;
            break;
        }
        return json_fail(j, "expected ',' or '}' in a tensor entry");
    }
    if (!have_dtype || !have_shape || !have_offsets)
        return json_fail(j, "tensor entry lacks dtype, shape or data_offsets");
    return 0;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(StTensorInfo *const *)a)->name, (*(StTensorInfo *const *)b)->name);
}

/* Duplicate tensor names, by sorting (a quadratic scan would let a header
 * of 100000 names take minutes). */
static int check_unique_names(Json *j, SafetensorsFile *sf) {
    if (sf->n < 2) return 0;
    StTensorInfo **by = nx_malloc((size_t)sf->n * sizeof *by);
    for (int i = 0; i < sf->n; i++) by[i] = &sf->t[i];
    qsort(by, (size_t)sf->n, sizeof *by, cmp_name);
    int rc = 0;
    for (int i = 1; i < sf->n && rc == 0; i++)
        if (strcmp(by[i - 1]->name, by[i]->name) == 0) {
            nx_error_set("%s: bad header: the tensor name '%.60s' appears twice", j->path, by[i]->name);
            j->failed = true;
            rc = -1;
        }
    free(by);
    return rc;
}

static int parse_header(Json *j, SafetensorsFile *sf) {
    if (json_expect(j, '{', "expected '{' at the start") != 0) return -1;
    bool first = true;
    int cap = 0;
    for (;;) {
        int c = json_peek(j);
        if (first && c == '}') {
            j->pos++;
            break;
        }
        size_t key_pos = j->pos;
        char *k = json_string(j);
        if (!k) return -1;
        if (json_expect(j, ':', "expected ':' after a key") != 0) {
            free(k);
            return -1;
        }
        if (strcmp(k, "__metadata__") == 0) {
            free(k);
            if (sf->n_meta > 0) return json_fail(j, "__metadata__ given twice");
            if (parse_metadata(j, sf) != 0) return -1;
        } else {
            if (sf->n >= ST_MAX_TENSORS) {
                j->pos = key_pos;
                free(k);
                return json_fail(j, "more than 100000 tensors");
            }
            if (sf->n == cap) {
                cap = cap ? 2 * cap : 64;
                sf->t = nx_realloc(sf->t, (size_t)cap * sizeof *sf->t);
            }
            StTensorInfo *ti = &sf->t[sf->n++];
            memset(ti, 0, sizeof *ti);
            ti->name = k;
            if (parse_tensor(j, ti) != 0) return -1;
        }
        first = false;
        c = json_peek(j);
        if (c == ',') {
            j->pos++;
            continue;
        }
        if (c == '}') {
            j->pos++;
            break;
        }
        return json_fail(j, "expected ',' or '}' after an entry");
    }
    json_ws(j);
    if (j->pos != j->n) return json_fail(j, "data after the closing '}'");
    return check_unique_names(j, sf);
}

static int cmp_begin(const void *a, const void *b) {
    const StTensorInfo *x = *(StTensorInfo *const *)a, *y = *(StTensorInfo *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : x->end < y->end ? -1 : x->end > y->end;
}

static int validate(SafetensorsFile *sf) {
    for (int i = 0; i < sf->n; i++) {
        StTensorInfo *ti = &sf->t[i];
        int64_t numel = 1;
        for (int d = 0; d < ti->ndim; d++) {
            if (ti->shape[d] != 0 && numel > INT64_MAX / 8 / ti->shape[d]) {
                nx_error_set("%s: '%s': shape too large", sf->path, ti->name);
                return -1;
            }
            numel *= ti->shape[d];
        }
        ti->numel = numel;
        if (ti->end < ti->begin || ti->end - ti->begin != (uint64_t)numel * (uint64_t)ti->elem_size) {
            nx_error_set("%s: '%s': data_offsets [%llu, %llu] do not hold %lld %s elements (%lld bytes)", sf->path,
                         ti->name, (unsigned long long)ti->begin, (unsigned long long)ti->end, (long long)numel,
                         ti->dtype, (long long)(numel * ti->elem_size));
            return -1;
        }
    }
    /* the tensors tile [0, data_len) */
    StTensorInfo **by = nx_malloc((size_t)(sf->n ? sf->n : 1) * sizeof *by);
    for (int i = 0; i < sf->n; i++) by[i] = &sf->t[i];
    qsort(by, (size_t)sf->n, sizeof *by, cmp_begin);
    uint64_t at = 0;
    for (int i = 0; i < sf->n; i++) {
        if (by[i]->begin != at) {
            nx_error_set("%s: '%s': data_offsets start at %llu, expected %llu (%s)", sf->path, by[i]->name,
                         (unsigned long long)by[i]->begin, (unsigned long long)at,
                         by[i]->begin < at ? "overlaps the previous tensor" : "a hole before it");
            free(by);
            return -1;
        }
        at = by[i]->end;
    }
    free(by);
    uint64_t want = sf->data_start + at;
    if (sf->file_size < want) {
        nx_error_set("%s: truncated: header says 8 + %llu + %llu bytes, file has %llu", sf->path,
                     (unsigned long long)sf->header_len, (unsigned long long)at, (unsigned long long)sf->file_size);
        return -1;
    }
    if (sf->file_size > want) {
        nx_error_set("%s: %llu bytes after the last tensor's data (header says 8 + %llu + %llu bytes)", sf->path,
                     (unsigned long long)(sf->file_size - want), (unsigned long long)sf->header_len,
                     (unsigned long long)at);
        return -1;
    }
    return 0;
}

int safetensors_open(SafetensorsFile *sf, const char *path) {
    sf_reset(sf);
    uint64_t size;
    FILE *f = nx_fopen_regular(path, &size);
    if (!f) return -1;
    sf->f = f;
    sf->path = str_dup(path);
    sf->file_size = size;
    uint8_t len8[8];
    if (sf->file_size < 8 || fread(len8, 1, 8, f) != 8) {
        nx_error_set("%s: truncated: %llu bytes, too short for the 8-byte header length", path,
                     (unsigned long long)sf->file_size);
        goto fail;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | len8[i];
    sf->header_len = n;
    sf->data_start = 8 + n;
    if (n > ST_MAX_HEADER) {
        nx_error_set("%s: header length %llu is over the 100 MB limit: not a safetensors file?", path,
                     (unsigned long long)n);
        goto fail;
    }
    if (n < 2) {
        nx_error_set("%s: bad header: length %llu", path, (unsigned long long)n);
        goto fail;
    }
    if (n > sf->file_size - 8) {
        nx_error_set("%s: truncated: header length is %llu bytes, file has only %llu after the length", path,
                     (unsigned long long)n, (unsigned long long)(sf->file_size - 8));
        goto fail;
    }
    char *hdr = nx_malloc(n);
    if (fread(hdr, 1, n, f) != n) {
        nx_error_set("%s: read error in the header: %s", path, strerror(errno));
        free(hdr);
        goto fail;
    }
    Json j = {.path = path, .s = hdr, .n = n};
    int rc = parse_header(&j, sf);
    free(hdr);
    if (rc != 0 || validate(sf) != 0) goto fail;
    return 0;
fail:
    safetensors_close(sf);
    return -1;
}

const StTensorInfo *safetensors_find(const SafetensorsFile *sf, const char *name) {
    for (int i = 0; i < sf->n; i++)
        if (strcmp(sf->t[i].name, name) == 0) return &sf->t[i];
    return NULL;
}

const char *safetensors_meta(const SafetensorsFile *sf, const char *key) {
    for (int i = 0; i < sf->n_meta; i++)
        if (strcmp(sf->meta_key[i], key) == 0) return sf->meta_val[i];
    return NULL;
}

int safetensors_read_raw(SafetensorsFile *sf, const StTensorInfo *ti, void *dst) {
    size_t bytes = (size_t)(ti->end - ti->begin);
    if (fseeko(sf->f, (off_t)(sf->data_start + ti->begin), SEEK_SET) != 0 || fread(dst, 1, bytes, sf->f) != bytes) {
        nx_error_set("%s: '%s': read error: %s", sf->path, ti->name,
                     feof(sf->f) ? "unexpected end of file" : strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- loading into a parameter store ------------------------------------- */

static const char *shape_str64(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t o = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (o < cap) snprintf(buf + o, cap - o, ")");
    return buf;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int check_entry(const SafetensorsFile *sf, const Tensor *t, const StTensorInfo *ti) {
    bool is_int = strcmp(ti->dtype, "I64") == 0 || strcmp(ti->dtype, "I32") == 0;
    bool is_half = strcmp(ti->dtype, "F16") == 0 || strcmp(ti->dtype, "BF16") == 0;
    if (!(strcmp(ti->dtype, "F32") == 0 || is_int || is_half) || (t->dtype == NX_I32 && !is_int)) {
        nx_error_set("%s: '%s': unsupported dtype %s (nicex reads F32, F16 and BF16, and I64/I32 for integer buffers)",
                     sf->path, ti->name, ti->dtype);
        return -1;
    }
    bool same = ti->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = ti->shape[d] == t->shape[d];
    if (!same) {
        int64_t want[NX_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) want[d] = t->shape[d];
        char a[128], b[160];
        nx_error_set("%s: '%s': shape mismatch: expected %s, found %s", sf->path, ti->name,
                     shape_str64(t->ndim, want, a, sizeof a), shape_str64(ti->ndim, ti->shape, b, sizeof b));
        return -1;
    }
    return 0;
}

/* The file's key of store name `name`: prefix "." name, or name (malloc'd). */
static char *prefixed(const char *prefix, const char *name) {
    size_t p = prefix ? strlen(prefix) : 0, n = strlen(name);
    char *k = nx_malloc(p + n + 2);
    if (p) memcpy(k, prefix, p), k[p] = '.';
    memcpy(k + (p ? p + 1 : 0), name, n + 1);
    return k;
}

/* The store's name of file key `key` under prefix, NULL if it is not under it. */
static const char *unprefixed(const char *prefix, const char *key) {
    size_t p = prefix ? strlen(prefix) : 0;
    if (!p) return key;
    return strncmp(key, prefix, p) == 0 && key[p] == '.' ? key + p + 1 : NULL;
}

int safetensors_read_params(SafetensorsFile *sf, ParamStore *s, const StLoadOptions *o) {
    NX_CHECK(s->finalized, "safetensors_read_params: the store is not finalized");
    const StLoadOptions none = {0};
    if (!o) o = &none;
    const char *path = sf->path, *prefix = o->prefix && *o->prefix ? o->prefix : NULL;
    const StTensorInfo **match = nx_calloc((size_t)(s->n ? s->n : 1), sizeof *match);
    int rc = -1;
    for (int i = 0; i < s->n; i++) {
        char *key = prefixed(prefix, s->t[i]->name);
        match[i] = safetensors_find(sf, key);
        if (!match[i]) nx_error_set("%s: key '%s' is missing from the file (it has %d tensors)", path, key, sf->n);
        free(key);
        if (!match[i] || check_entry(sf, s->t[i], match[i]) != 0) goto done;
    }
    if (!o->ignore_extra) {
        int extra = 0;
        const char *first = NULL;
        for (int i = 0; i < sf->n; i++) {
            const char *name = unprefixed(prefix, sf->t[i].name);
            if (!name || ends_with(name, "num_batches_tracked") || params_find(s, name)) continue;
            if (!first) first = sf->t[i].name;
            extra++;
        }
        if (extra) {
            nx_error_set("%s: key '%s' of the file is not in the model (%d such keys; ignore_extra skips them)", path,
                         first, extra);
            goto done;
        }
    }
    size_t max_bytes = 0;
    for (int i = 0; i < s->n; i++) {
        size_t b = (size_t)(match[i]->end - match[i]->begin);
        if (b > max_bytes) max_bytes = b;
    }
    void *raw = nx_malloc(max_bytes);
    void *conv = NULL;
    for (int i = 0; i < s->n; i++) {
        Tensor *t = s->t[i];
        const StTensorInfo *ti = match[i];
        if (safetensors_read_raw(sf, ti, raw) != 0) {
            free(raw);
            free(conv);
            goto done;
        }
        const void *src = raw;
        bool f16 = strcmp(ti->dtype, "F16") == 0, bf16 = strcmp(ti->dtype, "BF16") == 0;
        if (f16 || bf16) { /* half precision -> fp32 (exact) */
            if (!conv) conv = nx_malloc(max_bytes ? 2 * max_bytes : 4);
            const uint16_t *h = raw;
            for (int64_t k = 0; k < ti->numel; k++) ((float *)conv)[k] = f16 ? st_f16_to_f32(h[k]) : st_bf16_to_f32(h[k]);
            src = conv;
        } else if (strcmp(ti->dtype, "F32") != 0 || t->dtype != NX_F32) { /* integer buffer -> t's dtype */
            if (!conv) conv = nx_malloc(max_bytes ? 2 * max_bytes : 4);
            bool i64 = strcmp(ti->dtype, "I64") == 0;
            for (int64_t k = 0; k < ti->numel; k++) {
                int64_t v = i64 ? ((const int64_t *)raw)[k] : ((const int32_t *)raw)[k];
                if (t->dtype == NX_F32) ((float *)conv)[k] = (float)v;
                else ((int32_t *)conv)[k] = (int32_t)v;
            }
            src = conv;
        }
        for (int64_t k = 0; o->require_finite && t->dtype == NX_F32 && k < t->numel; k++)
            if (!isfinite(((const float *)src)[k])) {
                nx_error_set("%s: '%s' holds %g at element %lld: the file is broken (a diverged training?)", path,
                             ti->name, (double)((const float *)src)[k], (long long)k);
                free(raw);
                free(conv);
                goto done;
            }
        device_memcpy(t->device, t->data, NX_CPU, src, (size_t)t->numel * 4);
    }
    free(raw);
    free(conv);
    rc = 0;
done:
    free(match);
    return rc;
}

int safetensors_load_params(const char *path, ParamStore *s, bool ignore_extra) {
    NX_CHECK(s->finalized, "safetensors_load_params: the store is not finalized");
    SafetensorsFile sf;
    if (safetensors_open(&sf, path) != 0) return -1;
    int rc = safetensors_read_params(&sf, s, &(StLoadOptions){.ignore_extra = ignore_extra});
    safetensors_close(&sf);
    return rc;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static void buf_put(Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = nx_realloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void buf_str(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_json_string(Buf *b, const char *s) {
    buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            buf_put(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            buf_put(b, esc, 6);
        } else {
            buf_put(b, (const char *)p, 1);
        }
    }
    buf_put(b, "\"", 1);
}

int safetensors_save(const char *path, int n, const char *const *names, const Tensor *const *tensors, int n_meta,
                     const char *const *meta) {
    return safetensors_save_as(path, n, names, tensors, n_meta, meta, ST_SAVE_F32);
}

int safetensors_save_as(const char *path, int n, const char *const *names, const Tensor *const *tensors, int n_meta,
                        const char *const *meta, StSaveDtype as) {
    static const char *const float_name[] = {"F32", "F16", "BF16"};
    static const int float_size[] = {4, 2, 2};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < i; k++)
            if (strcmp(names[i], names[k]) == 0) {
                nx_error_set("%s: tensor name '%s' given twice", path, names[i]);
                return -1;
            }
    Buf h = {0};
    char num[64];
    buf_str(&h, "{");
    if (n_meta > 0) {
        buf_str(&h, "\"__metadata__\":{");
        for (int m = 0; m < n_meta; m++) {
            if (m) buf_str(&h, ",");
            buf_json_string(&h, meta[2 * m]);
            buf_str(&h, ":");
            buf_json_string(&h, meta[2 * m + 1]);
        }
        buf_str(&h, "}");
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        const Tensor *t = tensors[i];
        if (n_meta > 0 || i > 0) buf_str(&h, ",");
        buf_json_string(&h, names[i]);
        buf_str(&h, ":{\"dtype\":\"");
        buf_str(&h, t->dtype == NX_I32 ? "I32" : float_name[as]);
        buf_str(&h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            snprintf(num, sizeof num, d ? ",%d" : "%d", t->shape[d]);
            buf_str(&h, num);
        }
        uint64_t bytes = (uint64_t)t->numel * (uint64_t)(t->dtype == NX_I32 ? 4 : float_size[as]);
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                 (unsigned long long)(offset + bytes));
        buf_str(&h, num);
        offset += bytes;
    }
    buf_str(&h, "}");
    while (h.n % 8) buf_str(&h, " ");

    AtomicFile af;
    if (atomic_file_open(&af, path) != 0) {
        free(h.s);
        return -1;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)h.n >> (8 * i));
    atomic_file_write(&af, len8, 8);
    atomic_file_write(&af, h.s, h.n);
    free(h.s);
    void *staging = NULL;
    size_t staging_cap = 0;
    for (int i = 0; i < n; i++) {
        const Tensor *t = tensors[i];
        size_t bytes = (size_t)t->numel * 4;
        const void *src = t->data;
        bool narrow = t->dtype != NX_I32 && as != ST_SAVE_F32;
        if (t->device != NX_CPU || narrow) {
            if (bytes > staging_cap) {
                staging = nx_realloc(staging, bytes);
                staging_cap = bytes;
            }
            if (t->device != NX_CPU) device_memcpy(NX_CPU, staging, t->device, t->data, bytes);
            else memcpy(staging, t->data, bytes);
            src = staging;
        }
        if (narrow) { /* fp32 -> 16 bits in place, front to back */
            const float *f = staging;
            uint16_t *h = staging;
            for (int64_t k = 0; k < t->numel; k++) {
                float v = f[k];
                h[k] = as == ST_SAVE_F16 ? st_f32_to_f16(v) : st_f32_to_bf16(v);
            }
            bytes = (size_t)t->numel * 2;
        }
        atomic_file_write(&af, src, bytes);
    }
    free(staging);
    return atomic_file_commit(&af);
}

int safetensors_save_params(const char *path, const ParamStore *s, int n_meta, const char *const *meta) {
    return safetensors_save_params_as(path, s, n_meta, meta, ST_SAVE_F32);
}

int safetensors_save_params_as(const char *path, const ParamStore *s, int n_meta, const char *const *meta,
                               StSaveDtype as) {
    NX_CHECK(s->finalized, "safetensors_save_params: the store is not finalized");
    const char **names = nx_malloc((size_t)(s->n ? s->n : 1) * sizeof *names);
    for (int i = 0; i < s->n; i++) names[i] = s->t[i]->name;
    int rc = safetensors_save_as(path, s->n, names, (const Tensor *const *)s->t, n_meta, meta, as);
    free(names);
    return rc;
}

/* ---- opening files to read ----------------------------------------------- */

static const char *file_kind(mode_t m) {
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
           : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "a special file";
}

int nx_open_regular(const char *path, uint64_t *size) {
    /* O_NONBLOCK: opening a FIFO without a writer would block forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        nx_error_set("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        nx_error_set("%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        nx_error_set("%s: is %s, not a regular file", path, file_kind(st.st_mode));
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (size) *size = (uint64_t)st.st_size;
    return fd;
}

FILE *nx_fopen_regular(const char *path, uint64_t *size) {
    int fd = nx_open_regular(path, size);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        nx_error_set("%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

/* ---- atomic files ------------------------------------------------------- */

/* The temporary files now open, so that a signal handler can remove them
 * (atomic_file_remove_temporaries). A mutex guards the slots; the handler
 * reads them without it (unlink of a stale name is harmless). */
#define LIVE_SLOTS 64
static char *volatile live_tmp[LIVE_SLOTS];
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static void live_set(const char *old, char *now) {
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < LIVE_SLOTS; i++)
        if (live_tmp[i] == old) {
            live_tmp[i] = now;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

void atomic_file_remove_temporaries(void) {
    for (int i = 0; i < LIVE_SLOTS; i++) {
        char *p = live_tmp[i];
        if (p) unlink(p);
    }
}

int atomic_file_open(AtomicFile *af, const char *path) {
    memset(af, 0, sizeof *af);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        nx_error_set("%s: is %s, not a regular file: refusing to replace it", path, file_kind(st.st_mode));
        return -1;
    }
    size_t n = strlen(path);
    af->path = str_dup(path);
    af->tmp_path = nx_malloc(n + 16);
    snprintf(af->tmp_path, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        nx_error_set("%s: cannot create the temporary file %s: %s", path, af->tmp_path, strerror(errno));
        free(af->path);
        free(af->tmp_path);
        memset(af, 0, sizeof *af);
        return -1;
    }
    fchmod(fd, 0644); /* mkstemp makes 0600; a checkpoint or image is meant to be read */
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        nx_error_set("%s: fdopen: %s", path, strerror(errno));
        close(fd);
        unlink(af->tmp_path);
        free(af->path);
        free(af->tmp_path);
        memset(af, 0, sizeof *af);
        return -1;
    }
    af->sync = true;
    live_set(NULL, af->tmp_path);
    return 0;
}

int atomic_file_write(AtomicFile *af, const void *data, size_t bytes) {
    if (af->failed) return -1;
    if (bytes && fwrite(data, 1, bytes, af->f) != bytes) {
        nx_error_set("%s: write error: %s", af->path, strerror(errno));
        af->failed = true;
        return -1;
    }
    return 0;
}

void atomic_file_abort(AtomicFile *af) {
    if (af->f) fclose(af->f);
    if (af->tmp_path) unlink(af->tmp_path);
    if (af->tmp_path) live_set(af->tmp_path, NULL);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

int atomic_file_commit(AtomicFile *af) {
    if (!af->failed && (fflush(af->f) != 0 || (af->sync && fsync(fileno(af->f)) != 0))) {
        nx_error_set("%s: write error: %s", af->path, strerror(errno));
        af->failed = true;
    }
    if (af->failed) {
        atomic_file_abort(af);
        return -1;
    }
    int rc = fclose(af->f);
    af->f = NULL;
    if (rc != 0) {
        nx_error_set("%s: write error on close: %s", af->path, strerror(errno));
        atomic_file_abort(af);
        return -1;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        nx_error_set("%s: cannot rename %s over it: %s", af->path, af->tmp_path, strerror(errno));
        atomic_file_abort(af);
        return -1;
    }
    live_set(af->tmp_path, NULL);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
    return 0;
}
