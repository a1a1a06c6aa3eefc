/* loader.h: mini-batches over a Dataset, shuffled, augmented, prefetched.
 *
 *   Loader l;
 *   LoaderOptions o = loader_defaults(128, seed);
 *   o.shuffle = true; o.crop_pad = 4; o.hflip = true;          (CIFAR training)
 *   o.mean = (float[]){0.4914f, 0.4822f, 0.4465f}; o.std = (float[]){0.2470f, 0.2435f, 0.2616f};
 *   loader_init(&l, &ds, &o);
 *   for (int epoch = 0; epoch < E; epoch++) {
 *       loader_start_epoch(&l, epoch);
 *       Batch b;
 *       while (loader_next(&l, &b)) { copy b.x (B,C,H,W) and b.y (B) to the device, train }
 *   }
 *   loader_free(&l);
 *
 * Order: with shuffle, epoch e visits the samples in the order
 * data_permutation(n, data_stream(seed, DATA_TAG_SHUFFLE, e)) (a Philox
 * Fisher-Yates), else 0..n-1. drop_last drops a last, smaller batch.
 *
 * Per sample, in torchvision's order (RandomCrop(H, padding=p),
 * RandomHorizontalFlip(), ToTensor(), Normalize(mean, std)):
 *   1. random crop: pad the uint8 image with p zero pixels on each side, take
 *      the H x W window at (dy, dx), dy, dx uniform in [0, 2p]; padded pixels
 *      are 0 before normalisation, as in torchvision;
 *   2. horizontal flip with probability 1/2;
 *   3. x = p / 255, then (x - mean[c]) / std[c] when mean and std are set.
 * The draws for dataset sample i in epoch e are words 4i, 4i+1, 4i+2 of
 * the Philox stream data_stream(seed, DATA_TAG_AUGMENT, e): they do not
 * depend on the batch size, the order or the prefetch thread.
 *
 * Random-resized crop (rrc, instead of step 1; torchvision's
 * RandomResizedCrop(H, scale=(rrc_scale_min, 1), ratio=(3/4, 4/3)) on a PIL
 * image, then RandomHorizontalFlip, ToTensor, Normalize): up to 10 tries of
 *   area  = H*W * U(rrc_scale_min, 1),  log r = U(log 3/4, log 4/3),
 *   w = round(sqrt(area * r)), h = round(sqrt(area / r)),
 *   accepted when 0 < w <= W and 0 < h <= H, then top = floor(U * (H-h+1)),
 *   left = floor(U * (W-w+1));
 * else the centre crop of the largest box with r in [3/4, 4/3]. The h x w
 * box is resized to H x W with PIL's bilinear filter (data/image.h, byte
 * exact; antialiased when shrinking), so the pixels equal
 * img.crop(box).resize((W, H), BILINEAR) for the same box. Try t of sample i
 * uses words 64i + 4t .. 64i + 4t + 3 of data_stream(seed, DATA_TAG_RRC, e);
 * the flip keeps its word above.
 *
 * Prefetch: a background thread (pthreads) fills the next batch into a
 * second buffer while the caller uses the current one; batches of more
 * than 2M floats (e.g. 64 x 3 x 224 x 224) are filled by an OpenMP team.
 * A Batch returned by loader_next stays valid until the next loader_next /
 * loader_start_epoch.
 */
#ifndef NX_LOADER_H
#define NX_LOADER_H

#include <pthread.h>

#include "data/dataset.h"

typedef struct LoaderOptions {
    int batch_size;
    uint64_t seed;
    bool shuffle;
    bool drop_last;
    int crop_pad;        /* > 0: random crop with this much zero padding; 0: none */
    bool hflip;          /* random horizontal flip */
    bool rrc;            /* random-resized crop (not with crop_pad) */
    float rrc_scale_min; /* smallest area fraction (torchvision 0.08; 0 = 0.08) */
    const float *mean;   /* (C) or NULL: no normalisation */
    const float *std;    /* (C) or NULL */
    bool prefetch;       /* background thread (default true) */
} LoaderOptions;

typedef struct Batch {
    int n;               /* samples in this batch (the last may be smaller) */
    int c, h, w;
    float *x;            /* (n, c, h, w), host */
    int32_t *y;          /* (n) labels */
    int64_t *index;      /* (n) dataset index of each sample */
    int64_t batch;       /* number of this batch in the epoch */
} Batch;

typedef struct Loader {
    const Dataset *d;
    LoaderOptions o;
    float mean[3], inv_std[3];
    int64_t n_batches;
    int epoch;
    int64_t *order;      /* (n) sample order of the epoch */
    int64_t next;        /* batch number loader_next hands out next; -1 before the first epoch */
    float *x[2];         /* (batch_size, C, H, W) each: the two buffers */
    int32_t *y[2];
    int64_t *index[2];
    int64_t filled[2];   /* batch number each buffer holds, -1: none */
    /* prefetch thread */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t job;         /* batch number requested, -1: none */
    int job_buf;
    bool busy, quit, started;
} Loader;

/* batch_size and seed given; shuffle, augmentation and normalisation off,
 * drop_last off, prefetch on. */
LoaderOptions loader_defaults(int batch_size, uint64_t seed);
/* Returns -1 + nx_error_set on bad options (batch size < 1, crop_pad < 0,
 * std[c] == 0, rrc with crop_pad, rrc_scale_min outside [0, 1]). Keeps a pointer to d, which must outlive the loader. */
int loader_init(Loader *l, const Dataset *d, const LoaderOptions *o);
void loader_free(Loader *l);
/* Start epoch e (any order, any number of times): computes the order and
 * begins preparing batch 0. */
void loader_start_epoch(Loader *l, int epoch);
/* The next batch of the epoch: 1 and *b filled, or 0 at the end. */
int loader_next(Loader *l, Batch *b);
int64_t loader_num_batches(const Loader *l);

/* Prepare one sample as the loader does (crop, flip, normalise) into
 * out (C, H, W): for evaluation code and for tests. */
void loader_sample(const Loader *l, int epoch, int64_t i, float *out /* (C, H, W) */);
/* The random-resized-crop box of sample i in epoch e (see above):
 * rows [*top, *top + *h), columns [*left, *left + *w). */
void loader_rrc_box(const Loader *l, int epoch, int64_t i, int *top, int *left, int *h, int *w);

#endif
