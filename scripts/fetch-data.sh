#!/bin/sh
# fetch-data.sh [DEST]: unpack the natural-image datasets kept in ../shared/data
# (CIFAR-10 as JPEG, Imagenette) into DEST (default .data/, git-ignored):
#   DEST/cifar10-jpeg/{train,test}/<class>/*.jpg
#   DEST/imagenette/{train,val}/<wnid>/*.JPEG
# The tarballs are checked against ../shared/data/SHA256SUMS first. A dataset
# already unpacked in DEST (its folders present) is left as it is. When
# ../shared/data is absent the script prints a notice and exits 0, so that
# `make fetch-data` never fails on a machine without it. NICEX_SHARED_DATA
# names another source folder.
set -e
src="${NICEX_SHARED_DATA:-$(dirname "$0")/../../shared/data}"  # ../shared/data from the project root
dest="${1:-$(dirname "$0")/../.data}"
if [ ! -f "$src/SHA256SUMS" ]; then
    echo "fetch-data: $src/SHA256SUMS not found: shared datasets absent, nothing unpacked (skipped)"
    exit 0
fi
mkdir -p "$dest"
check() { # check REL: verify one tarball against SHA256SUMS
    line=$(grep "  $1\$" "$src/SHA256SUMS") || { echo "fetch-data: $1 not listed in $src/SHA256SUMS" >&2; exit 1; }
    (cd "$src" && echo "$line" | sha256sum -c --quiet -) || { echo "fetch-data: $src/$1: checksum mismatch" >&2; exit 1; }
}
unpack() { # unpack REL: extract into dest (the tarballs hold their top folder)
    check "$1"
    echo "fetch-data: unpacking $1 into $dest"
    tar -xzf "$src/$1" -C "$dest"
}
if [ -d "$dest/cifar10-jpeg/train" ] && [ -d "$dest/cifar10-jpeg/test" ]; then
    echo "fetch-data: $dest/cifar10-jpeg already there"
else
    unpack cifar10-jpeg/cifar10-jpeg.tar.gz
fi
if [ -d "$dest/imagenette/train" ] && [ -d "$dest/imagenette/val" ]; then
    echo "fetch-data: $dest/imagenette already there"
else
    unpack imagenette/imagenette-train.tar.gz
    unpack imagenette/imagenette-val.tar.gz
fi
n_c=$(find "$dest/cifar10-jpeg" -name '*.jpg' | wc -l)
n_i=$(find "$dest/imagenette" -name '*.JPEG' | wc -l)
echo "fetch-data: $dest: cifar10-jpeg $n_c images (expect 60000), imagenette $n_i images (expect 13394)"
