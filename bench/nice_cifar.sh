#!/bin/sh
# nice_cifar.sh [RESULTS_DIR]: NICE on CIFAR-10 (the JPEG copy) at the paper's
# settings for VGG11 (issue 14; reference-notes.md, "NICE"):
#   generator `cifar` (Table 1, the C(3,1,5,1,2)+M(2)+Up(2) fix), lambda1 3,
#   lambda2 0.01, block b = 32 (the background of eq. 13 is each image's
#   per-channel mean), classifier frozen, Adam lr 1e-3 x0.1 every 5 epochs,
#   10 epochs, batch 100, seed 0; then a 16-image mask grid and the PNG
#   sizes of the mixed-resolution test images.
# Environment: CKPT (default models/vgg11-cifar10.safetensors, the shipped one, see
# docs/models.md), DATA (default folder:/work/cache/cifar10-jpeg, made by
# scripts/fetch-data.sh), EPOCHS (default 10), LIMIT (default all).
# Skips with a notice when the classifier or the data is absent.
# Writes RESULTS_DIR (default bench/results)/nice-cifar.md, nice-cifar/grid.png
# and nice-cifar/nice-vgg11-cifar10.safetensors (the generator's 76 parameters
# plus a copy of the classifier, 37 MB: git ignores it).
set -eu
res=${1:-bench/results}
ckpt=${CKPT:-models/vgg11-cifar10.safetensors}
data=${DATA:-folder:/work/cache/cifar10-jpeg}
epochs=${EPOCHS:-10}
limit=${LIMIT:-0}
bin=./bin/nicex
if [ ! -f "$ckpt" ]; then
    echo "nice_cifar: classifier $ckpt not found (train it: docs/models.md): skipped"
    exit 0
fi
if [ ! -d "${data#folder:}/train" ]; then
    echo "nice_cifar: ${data#folder:}/train not found (run scripts/fetch-data.sh): skipped"
    exit 0
fi
mkdir -p "$res/nice-cifar"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen="$res/nice-cifar/nice-vgg11-cifar10.safetensors"
field() { sed -n "s/.*\"$2\": \"*\([^,\"}]*\).*/\1/p" "$1"; }
echo "== nice train (classifier $ckpt)"
$bin nice train --classifier "$ckpt" --data "$data" --generator cifar --lambda1 3 --lambda2 0.01 --block 32 \
    --opt adam --lr 1e-3 --schedule step:5:0.1 --epochs "$epochs" --batch 100 --limit "$limit" --seed 0 \
    --json --out "$gen" > "$work/train.json"
cat "$work/train.json"
$bin eval --ckpt "$ckpt" --data "$data" --json > "$work/eval.json"
$bin nice explain --gen "$gen" --data "$data" --n 16 --cols 8 --out "$work/explain" > /dev/null
cp "$work/explain/grid.png" "$res/nice-cifar/grid.png"
$bin nice compress --gen "$gen" --data "$data" --block 32 --no-images --json --out "$work/compress" > "$work/c32.json"
j="$work/train.json"
{
    echo "# NICE on CIFAR-10 (JPEG copy), VGG11, the paper's settings"
    echo
    awk -v a="$(field "$work/eval.json" accuracy)" -v n="$(field "$work/eval.json" n)" -v c="$ckpt" \
        'BEGIN { printf "Classifier: %s (accuracy %.2f%% on the %d test images), frozen.\n", c, 100 * a, n }'
    echo "Generator \`cifar\`; lambda1 3, lambda2 0.01, b = 32; Adam lr 1e-3, x0.1 every 5 epochs,"
    echo "$epochs epochs, batch 100, seed 0; test-time mask eq. 12; closed pixels take the"
    echo "image's per-channel mean (eq. 13 with b = 32)."
    echo
    echo "| mask density | mask mean | TV per image | accuracy on mixed images (b = 32) |"
    echo "|---|---|---|---|"
    awk -v d="$(field "$j" density)" -v m="$(field "$j" mask_mean)" -v tv="$(field "$j" tv)" -v a="$(field "$j" accuracy)" \
        'BEGIN { printf "| %.4f | %.4f | %.1f | %.2f%% |\n", d, m, tv, 100 * a }'
    echo
    echo "PNG sizes at b = 32: $(cat "$work/c32.json")"
    echo
    echo "Masks of the first 16 test images: nice-cifar/grid.png"
    echo
    echo "- machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), $(nproc --all) cores"
    echo "- date: $(date -u +%Y-%m-%d)"
    echo "- command: \`CKPT=$ckpt DATA=$data EPOCHS=$epochs LIMIT=$limit sh bench/nice_cifar.sh $res\`"
} > "$res/nice-cifar.md.tmp"
mv "$res/nice-cifar.md.tmp" "$res/nice-cifar.md"
cat "$res/nice-cifar.md"
