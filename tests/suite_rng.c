/* suite_rng.c: Philox4x32-10 (tensor/rng.c) against the Random123
 * known-answer vectors, the stream layout of tensor/rng.h, the uniform
 * distribution, and the global stream's take / re-seed / rng_below. */
#include "tests/testlib.h"
#include "tensor/rng.h"

#include <math.h>
#include <stdlib.h>

/* Random123 1.x, tests/kat_vectors, the three "philox4x32 10" lines:
 * counter (4 words), key (2 words) -> output (4 words). */
static const struct {
    uint32_t ctr[4], key[2], out[4];
} KAT[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

START_TEST(test_philox_known_answers) {
    uint32_t out[4];
    philox4x32_10(out, KAT[_i].ctr, KAT[_i].key);
    for (int w = 0; w < 4; w++)
        ck_assert_msg(out[w] == KAT[_i].out[w], "vector %d word %d: got %08x, want %08x", _i, w, out[w],
                      KAT[_i].out[w]);
}
END_TEST

/* Word i of seed s is word i mod 4 of philox(counter = (i/4 as 64 bits, 0, 0), key = s, low word first). */
START_TEST(test_stream_layout) {
    const uint64_t seeds[] = {0, 42, 0x0123456789abcdefull, 0xffffffff00000000ull};
    const uint64_t idx[] = {0, 1, 2, 3, 4, 7, 1001, (1ull << 34) + 5, 0xfffffffffffffffeull};
    for (size_t a = 0; a < sizeof seeds / sizeof seeds[0]; a++)
        for (size_t b = 0; b < sizeof idx / sizeof idx[0]; b++) {
            uint64_t s = seeds[a], i = idx[b], block = i / 4;
            uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
            uint32_t key[2] = {(uint32_t)s, (uint32_t)(s >> 32)}, out[4];
            philox4x32_10(out, ctr, key);
            ck_assert_uint_eq(philox_word(s, i), out[i % 4]);
        }
    /* the high words of the seed and of the counter matter */
    ck_assert_uint_ne(philox_word(1, 0), philox_word(1 + (1ull << 32), 0));
    ck_assert_uint_ne(philox_word(1, 0), philox_word(1, 4ull << 32));
}
END_TEST

START_TEST(test_uniform_distribution) {
    const int n = 100000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        float u = philox_uniform(7, (uint64_t)i);
        ck_assert_msg(u > 0 && u <= 1, "draw %d = %.9g outside (0, 1]", i, u);
        /* u is the word scaled to (0, 1]: within float rounding of (word + 0.5) / 2^32 */
        double want = ((double)philox_word(7, (uint64_t)i) + 0.5) / 4294967296.0;
        ck_assert_msg(fabs(u - want) <= 1.2e-7 * want, "draw %d: %.9g vs %.9g", i, u, want);
        sum += u, sum2 += (double)u * u;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    ck_assert_msg(fabs(mean - 0.5) < 0.005, "mean %g", mean);
    ck_assert_msg(fabs(var - 1.0 / 12) < 0.01 / 12, "variance %g, want 1/12", var);
}
END_TEST

START_TEST(test_take_and_reseed) {
    rng_seed(123);
    ck_assert_uint_eq(rng_get_seed(), 123);
    ck_assert_uint_eq(rng_offset(), 0);
    uint64_t prev = rng_offset();
    const uint64_t sizes[] = {10, 1, 3, 4, 1000, 0, 7};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint64_t first = rng_take(sizes[k]);
        ck_assert_uint_eq(first, prev);               /* hands out the current offset */
        ck_assert_uint_ge(rng_offset(), first + sizes[k]); /* and moves past all n numbers */
        ck_assert_uint_lt(rng_offset(), first + sizes[k] + 4); /* wasting at most part of one block */
        prev = rng_offset();
    }
    /* a re-seed repeats the stream exactly */
    float a[64];
    rng_seed(99);
    for (int i = 0; i < 64; i++) a[i] = rng_uniform();
    uint64_t end = rng_offset();
    ck_assert_uint_gt(end, 0);
    rng_seed(99);
    for (int i = 0; i < 64; i++) ck_assert_float_eq(rng_uniform(), a[i]);
    ck_assert_uint_eq(rng_offset(), end);
    /* an offset restores a position: what a resumed run does */
    rng_set_offset(0);
    ck_assert_float_eq(rng_uniform(), a[0]);
    /* another seed, another stream */
    rng_seed(100);
    int same = 0;
    for (int i = 0; i < 64; i++) same += rng_uniform() == a[i];
    ck_assert_int_lt(same, 2);
}
END_TEST

START_TEST(test_below_in_range) {
    rng_seed(5);
    const uint32_t ns[] = {1, 2, 3, 10, 1000, 0x80000001u, 0xffffffffu};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int i = 0; i < 2000; i++) ck_assert_uint_lt(rng_below(ns[k]), ns[k]);
    /* all of [0, 6) comes up, about equally: 60000 draws, 10000 expected each */
    int count[6] = {0};
    for (int i = 0; i < 60000; i++) count[rng_below(6)]++;
    for (int v = 0; v < 6; v++) ck_assert_msg(abs(count[v] - 10000) < 500, "value %d: %d times", v, count[v]);
    /* the top of a large range is reached too */
    uint32_t hi = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t r = rng_below(0xffffffffu);
        if (r > hi) hi = r;
    }
    ck_assert_uint_gt(hi, 0xf0000000u);
}
END_TEST

Suite *suite_rng(void) {
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("philox");
    tcase_add_loop_test(tc, test_philox_known_answers, 0, (int)(sizeof KAT / sizeof KAT[0]));
    tcase_add_test(tc, test_stream_layout);
    tcase_add_test(tc, test_uniform_distribution);
    tcase_add_test(tc, test_take_and_reseed);
    tcase_add_test(tc, test_below_in_range);
    suite_add_tcase(s, tc);
    return s;
}
