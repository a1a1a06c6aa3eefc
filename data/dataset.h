/* dataset.h: image classification datasets held in memory as uint8.
 *
 * A dataset is named by a spec string (the --data flag of the CLI):
 *
 *   fashion-mnist          Debian's dataset-fashion-mnist package, IDX files in
 *                          /usr/share/datasets/fashion-mnist (the default)
 *   fashion-mnist:DIR      the same four IDX files in DIR
 *   mnist:DIR              MNIST's four IDX files (raw or .gz) in DIR
 *   cifar10:DIR            the CIFAR-10 binary release: data_batch_1..5.bin and
 *                          test_batch.bin in DIR or DIR/cifar-10-batches-bin
 *   folder:DIR             one subfolder per class (JPEG or PNG images); the
 *                          splits are DIR/train and DIR/val (or DIR/test) when
 *                          both exist, else a fixed split of each class made
 *                          from the seed (one image in five, rounded down, is
 *                          test; see docs/data.md)
 *   synthetic:N:CxHxW:K    N seeded random images (C channels, H x W, pixels
 *                          uniform in 0..255) with labels uniform in 0..K-1,
 *                          from Philox streams that depend only on the spec
 *                          and the split (both splits have N images), e.g.
 *                          synthetic:64:3x224x224:10 for speed measurements
 *
 * Pixels stay uint8, (N, C, H, W), so that Imagenette at 224x224 takes 1.4 GB
 * and not four times that; the Loader (data/loader.h) converts batches to
 * float. image_size > 0 resizes every image to image_size x image_size with
 * PIL's bilinear filter, byte-exact (data/image.h); 0 keeps the native size (then every
 * image of a folder dataset must have the size of the first).
 *
 * Errors (a missing or truncated file, a corrupt image, an unknown spec) make
 * dataset_open return -1 after nx_error_set(): one line that names the file
 * and what was wrong, e.g.
 *   "DIR/train-images-idx3-ubyte.gz: truncated: expected 47040000 bytes of pixels, found 1000".
 */
#ifndef NX_DATASET_H
#define NX_DATASET_H

#include "tensor/common.h"

typedef enum { DATA_TRAIN = 0, DATA_TEST = 1 } DataSplit;

/* Where `dataset_open("fashion-mnist", ...)` looks. */
#define DATASET_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct Dataset {
    char kind[16];       /* "fashion-mnist", "mnist", "cifar10", "folder" or "synthetic" */
    char *root;          /* the folder the files were read from */
    DataSplit split;
    int64_t n;           /* number of samples */
    int c, h, w;         /* channels (1 or 3) and image size */
    uint8_t *pixels;     /* (n, c, h, w) */
    int32_t *labels;     /* (n), in [0, n_classes) */
    int n_classes;
    char **class_names;  /* (n_classes) */
    char **files;        /* folder datasets: (n) path of each sample; NULL otherwise */
} Dataset;

/* Open the split of the dataset named by spec. Returns 0, or -1 with
 * nx_error_set (and *d zeroed). seed only matters for folder datasets
 * without their own train/test folders. */
int dataset_open(Dataset *d, const char *spec, DataSplit split, int image_size, uint64_t seed);
void dataset_free(Dataset *d);

/* "train" -> DATA_TRAIN; "test" or "val" -> DATA_TEST; -1 + nx_error_set otherwise. */
int dataset_split_parse(const char *s, DataSplit *out);
const char *dataset_split_name(DataSplit s);

/* Pixels of sample i as float (C, H, W): p / 255, then (x - mean[c]) / std[c]
 * when mean and std are not NULL. */
void dataset_get_float(const Dataset *d, int64_t i, float *out /* (C, H, W) */, const float *mean, const float *std);

/* Per-channel mean and standard deviation of p / 255 over the whole dataset
 * (population std), as used for Normalize(mean, std). Entries past d->c
 * get mean 0, std 1. */
void dataset_channel_stats(const Dataset *d, float mean[3], float std[3]);

/* A one-line description: "cifar10 train: 50000 x 3x32x32, 10 classes (DIR)". */
const char *dataset_describe(const Dataset *d);

/* ---- allocation of data from sizes a file declared ---------------------- */

/* At most this many bytes of pixels for one split: checked (64-bit, before
 * the multiply wraps) before anything is allocated. */
#define DATASET_MAX_BYTES ((int64_t)1 << 36) /* 64 GiB */
/* Image sides (native or --image-size) are at most this. */
#define DATASET_MAX_SIDE 4096
/* synthetic:N:CxHxW:K takes K up to this. */
#define DATASET_MAX_CLASSES 100000

/* malloc(n * each) for data whose size comes from a file: NULL with
 * nx_error_set("name: N x M bytes of what: over the 64 GiB limit" or
 * "... cannot allocate") instead of an abort. */
void *data_alloc(int64_t n, int64_t each, const char *name, const char *what);

/* ---- seeded streams, shared with the loader ----------------------------- */

/* A Philox seed for one purpose: a hash (splitmix64 steps) of the run's
 * seed, a purpose tag and an index (a class, an epoch), so that streams for
 * different purposes never share numbers. */
uint64_t data_stream(uint64_t seed, uint64_t tag, uint64_t index);
/* perm = a uniformly shuffled 0..n-1: Fisher-Yates from the last element
 * down, j = (philox_word(stream, i) * (i + 1)) >> 32 for i = n-1 .. 1. */
void data_permutation(int64_t *perm /* (n) */, int64_t n, uint64_t stream);

#define DATA_TAG_SPLIT 0x53504c4954ull   /* "SPLIT": folder train/test split */
#define DATA_TAG_SHUFFLE 0x5348554646ull /* "SHUFF": loader order per epoch */
#define DATA_TAG_AUGMENT 0x4155474dull   /* "AUGM": loader crops and flips per epoch */
#define DATA_TAG_RRC 0x525243ull         /* "RRC": loader random-resized crops per epoch */
#define DATA_TAG_SYNTH_PIXELS 0x53594e50ull /* "SYNP": synthetic pixels per split */
#define DATA_TAG_SYNTH_LABELS 0x53594e4cull /* "SYNL": synthetic labels per split */

/* ---- file formats (data/idx.c, data/cifar.c, data/folder.c) ------------- */

/* Read an IDX file of unsigned bytes (raw, or gzip when the file is gzip):
 * checks the magic (0x00 0x00 0x08 ndim), that ndim == want_ndim (0: any),
 * and that the data has exactly prod(dims) bytes. what names the content in
 * errors ("pixels", "labels"). On success *data (malloc'd) holds the bytes
 * and dims[0..ndim) the sizes. */
int idx_read(const char *path, int want_ndim, const char *what, uint8_t **data, int *ndim, int64_t dims[4]);

/* Append the records of one CIFAR-10 binary batch file (1 label byte +
 * 3072 pixel bytes each, labels < 10) to pixels/labels, growing them.
 * *n is the number of samples already held and is updated. */
int cifar10_read_batch(const char *path, uint8_t **pixels, int32_t **labels, int64_t *n);

/* The folder:DIR dataset (d zeroed by the caller; on error the caller frees). */
int folder_dataset_open(Dataset *d, const char *dir, DataSplit split, int image_size, uint64_t seed);

#endif
