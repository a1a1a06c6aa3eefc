/* loader.c: batching, shuffling, augmentation and prefetch (see loader.h).
 *
 * Prefetch protocol (one worker thread, two buffers): batch k lives in
 * buffer k % 2. loader_next(k) waits until the worker has filled k, then
 * asks it for k + 1 in the other buffer (which the caller has finished
 * with, since it asked for k) and returns k. At most one job is ever
 * outstanding, so the worker never touches a buffer the caller holds.
 * loader_start_epoch waits for the worker to go idle before it changes the
 * order.
 */
#include "data/loader.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "tensor/rng.h"

LoaderOptions loader_defaults(int batch_size, uint64_t seed) {
    LoaderOptions o;
    memset(&o, 0, sizeof o);
    o.batch_size = batch_size;
    o.seed = seed;
    o.prefetch = true;
    return o;
}

int64_t loader_num_batches(const Loader *l) { return l->n_batches; }

void loader_rrc_box(const Loader *l, int epoch, int64_t i, int *top, int *left, int *h, int *w) {
    const int H = l->d->h, W = l->d->w;
    const double area = (double)H * W, smin = l->o.rrc_scale_min > 0 ? l->o.rrc_scale_min : 0.08;
    const double lr0 = log(3.0 / 4.0), lr1 = log(4.0 / 3.0);
    uint64_t stream = data_stream(l->o.seed, DATA_TAG_RRC, (uint64_t)epoch);
    for (int t = 0; t < 10; t++) {
        uint64_t k = 64 * (uint64_t)i + 4 * (uint64_t)t;
        double target = area * (smin + (1 - smin) * (double)philox_uniform(stream, k));
        double r = exp(lr0 + (lr1 - lr0) * (double)philox_uniform(stream, k + 1));
        int cw = (int)lround(sqrt(target * r)), ch = (int)lround(sqrt(target / r));
        if (cw > 0 && cw <= W && ch > 0 && ch <= H) {
            int y = (int)((double)philox_uniform(stream, k + 2) * (H - ch + 1));
            int x = (int)((double)philox_uniform(stream, k + 3) * (W - cw + 1));
            *top = y < H - ch ? y : H - ch; /* uniform is (0, 1]: 1 maps to the last offset */
            *left = x < W - cw ? x : W - cw;
            *h = ch, *w = cw;
            return;
        }
    }
    double in_ratio = (double)W / H; /* torchvision's fallback: a centre crop */
    int cw = W, ch = H;
    if (in_ratio < 3.0 / 4.0) ch = (int)lround(cw / (3.0 / 4.0));
    else if (in_ratio > 4.0 / 3.0) cw = (int)lround(ch * (4.0 / 3.0));
    *top = (H - ch) / 2, *left = (W - cw) / 2, *h = ch, *w = cw;
}

/* The random-resized crop of sample i as uint8 (C, H, W) into dst. */
static void rrc_pixels(const Loader *l, int epoch, int64_t i, uint8_t *dst /* (C, H, W) */) {
    const Dataset *d = l->d;
    int C = d->c, H = d->h, W = d->w, top, left, ch, cw;
    loader_rrc_box(l, epoch, i, &top, &left, &ch, &cw);
    const uint8_t *src = d->pixels + (size_t)i * C * H * W;
    uint8_t *box = nx_malloc((size_t)ch * cw);
    for (int c = 0; c < C; c++) {
        const uint8_t *plane = src + (size_t)c * H * W;
        for (int y = 0; y < ch; y++) memcpy(box + (size_t)y * cw, plane + (size_t)(top + y) * W + left, (size_t)cw);
        image_resize_plane(dst + (size_t)c * H * W, H, W, box, ch, cw);
    }
    free(box);
}

void loader_sample(const Loader *l, int epoch, int64_t i, float *out) {
    const Dataset *d = l->d;
    int C = d->c, H = d->h, W = d->w, p = l->o.crop_pad;
    const uint8_t *src = d->pixels + (size_t)i * C * H * W;
    uint8_t *cropped = NULL;
    if (l->o.rrc) {
        cropped = nx_malloc((size_t)C * H * W);
        rrc_pixels(l, epoch, i, cropped);
        src = cropped;
    }
    uint64_t stream = data_stream(l->o.seed, DATA_TAG_AUGMENT, (uint64_t)epoch);
    int dy = p, dx = p; /* offsets into the padded image; p, p = no shift */
    bool flip = false;
    if (p > 0) {
        dy = (int)(((uint64_t)philox_word(stream, 4 * (uint64_t)i) * (uint64_t)(2 * p + 1)) >> 32);
        dx = (int)(((uint64_t)philox_word(stream, 4 * (uint64_t)i + 1) * (uint64_t)(2 * p + 1)) >> 32);
    }
    if (l->o.hflip) flip = philox_uniform(stream, 4 * (uint64_t)i + 2) <= 0.5f;
    for (int c = 0; c < C; c++) {
        float m = l->mean[c], s = l->inv_std[c], lut[256];
        for (int v = 0; v < 256; v++) lut[v] = (v * (1.0f / 255.0f) - m) * s;
        float zero = (0.0f - m) * s; /* a padded pixel */
        const uint8_t *plane = src + (size_t)c * H * W;
        float *o = out + (size_t)c * H * W;
        /* output column x reads source column x + dx - p: valid for x in [x0, x1) */
        int x0 = p - dx > 0 ? p - dx : 0, x1 = W + p - dx < W ? W + p - dx : W;
        for (int y = 0; y < H; y++) {
            int sy = y + dy - p;
            float *row = o + (size_t)y * W;
            if (sy < 0 || sy >= H) {
                for (int x = 0; x < W; x++) row[x] = zero;
                continue;
            }
            const uint8_t *srow = plane + (size_t)sy * W;
            int shift = dx - p;
            for (int x = 0; x < x0; x++) row[flip ? W - 1 - x : x] = zero;
            for (int x = x1; x < W; x++) row[flip ? W - 1 - x : x] = zero;
            if (flip)
                for (int x = x0; x < x1; x++) row[W - 1 - x] = lut[srow[x + shift]]; /* flip after the crop */
            else
                for (int x = x0; x < x1; x++) row[x] = lut[srow[x + shift]];
        }
    }
    free(cropped);
}

static void fill(Loader *l, int64_t k, int buf) {
    const Dataset *d = l->d;
    int64_t B = l->o.batch_size, start = k * B, n = d->n - start < B ? d->n - start : B;
    size_t img = (size_t)d->c * d->h * d->w;
    /* Big images (224 x 224) take ~0.5 ms each: share the batch among
     * OpenMP threads. Small ones (CIFAR, MNIST) stay on this thread. */
#pragma omp parallel for schedule(static) if ((size_t)n * img > ((size_t)1 << 21))
    for (int64_t j = 0; j < n; j++) {
        int64_t i = l->order[start + j];
        l->index[buf][j] = i;
        l->y[buf][j] = d->labels[i];
        loader_sample(l, l->epoch, i, l->x[buf] + j * img);
    }
    l->filled[buf] = k;
}

static void *worker(void *arg) {
    Loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->job < 0 && !l->quit) pthread_cond_wait(&l->cv, &l->mu);
        if (l->quit) break;
        int64_t k = l->job;
        int buf = l->job_buf;
        l->job = -1;
        l->busy = true;
        pthread_mutex_unlock(&l->mu);
        fill(l, k, buf);
        pthread_mutex_lock(&l->mu);
        l->busy = false;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int loader_init(Loader *l, const Dataset *d, const LoaderOptions *o) {
    memset(l, 0, sizeof *l);
    if (o->batch_size < 1) {
        nx_error_set("loader: batch size %d, expected at least 1", o->batch_size);
        return -1;
    }
    if (o->crop_pad < 0 || o->crop_pad > d->h || o->crop_pad > d->w) {
        nx_error_set("loader: crop padding %d for %dx%d images, expected 0..%d", o->crop_pad, d->h, d->w,
                     d->h < d->w ? d->h : d->w);
        return -1;
    }
    if (o->rrc && o->crop_pad > 0) {
        nx_error_set("loader: random-resized crop and padded random crop are exclusive");
        return -1;
    }
    if (o->rrc && !(o->rrc_scale_min >= 0 && o->rrc_scale_min <= 1)) {
        nx_error_set("loader: random-resized crop scale %g, expected 0..1", (double)o->rrc_scale_min);
        return -1;
    }
    if ((o->mean == NULL) != (o->std == NULL)) {
        nx_error_set("loader: give both mean and std, or neither");
        return -1;
    }
    for (int c = 0; c < d->c; c++) {
        l->mean[c] = o->mean ? o->mean[c] : 0.0f;
        float s = o->std ? o->std[c] : 1.0f;
        if (!(s > 0)) {
            nx_error_set("loader: std[%d] = %g, expected > 0", c, (double)s);
            return -1;
        }
        l->inv_std[c] = 1.0f / s;
    }
    l->d = d;
    l->o = *o;
    l->n_batches = o->drop_last ? d->n / o->batch_size : (d->n + o->batch_size - 1) / o->batch_size;
    l->order = nx_malloc((size_t)(d->n ? d->n : 1) * sizeof(int64_t));
    size_t img = (size_t)d->c * d->h * d->w;
    for (int b = 0; b < 2; b++) {
        l->x[b] = nx_malloc((size_t)o->batch_size * img * sizeof(float));
        l->y[b] = nx_malloc((size_t)o->batch_size * sizeof(int32_t));
        l->index[b] = nx_malloc((size_t)o->batch_size * sizeof(int64_t));
        l->filled[b] = -1;
    }
    l->next = -1;
    l->job = -1;
    if (o->prefetch) {
        pthread_mutex_init(&l->mu, NULL);
        pthread_cond_init(&l->cv, NULL);
        if (pthread_create(&l->thread, NULL, worker, l) != 0) nx_fatal("loader: cannot start the prefetch thread");
        l->started = true;
    }
    return 0;
}

/* Wait until the worker has nothing queued or running. Called with mu held. */
static void wait_idle(Loader *l) {
    while (l->busy || l->job >= 0) pthread_cond_wait(&l->cv, &l->mu);
}

static void request(Loader *l, int64_t k, int buf) {
    pthread_mutex_lock(&l->mu);
    wait_idle(l);
    l->job = k;
    l->job_buf = buf;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void loader_start_epoch(Loader *l, int epoch) {
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        wait_idle(l);
        pthread_mutex_unlock(&l->mu);
    }
    l->epoch = epoch;
    if (l->o.shuffle) data_permutation(l->order, l->d->n, data_stream(l->o.seed, DATA_TAG_SHUFFLE, (uint64_t)epoch));
    else
        for (int64_t i = 0; i < l->d->n; i++) l->order[i] = i;
    l->filled[0] = l->filled[1] = -1;
    l->next = 0;
    if (l->started && l->n_batches > 0) request(l, 0, 0);
}

int loader_next(Loader *l, Batch *b) {
    NX_CHECK(l->next >= 0, "loader_next before loader_start_epoch");
    int64_t k = l->next;
    if (k >= l->n_batches) return 0;
    int buf = (int)(k & 1);
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        wait_idle(l); /* the only job in flight is batch k */
        pthread_mutex_unlock(&l->mu);
        NX_CHECK(l->filled[buf] == k, "loader: batch %lld was not prefetched", (long long)k);
        if (k + 1 < l->n_batches) request(l, k + 1, buf ^ 1);
    } else {
        fill(l, k, buf);
    }
    const Dataset *d = l->d;
    int64_t B = l->o.batch_size, start = k * B;
    b->n = (int)(d->n - start < B ? d->n - start : B);
    b->c = d->c;
    b->h = d->h;
    b->w = d->w;
    b->x = l->x[buf];
    b->y = l->y[buf];
    b->index = l->index[buf];
    b->batch = k;
    l->next = k + 1;
    return 1;
}

void loader_free(Loader *l) {
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->quit = true;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
    }
    for (int b = 0; b < 2; b++) {
        free(l->x[b]);
        free(l->y[b]);
        free(l->index[b]);
    }
    free(l->order);
    memset(l, 0, sizeof *l);
}
