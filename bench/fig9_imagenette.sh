#!/bin/sh
# fig9_imagenette.sh [RESULTS_DIR]: NICE Fig. 9 on Imagenette's validation set
# (issue 14; reference-notes.md, "NICE", "Compression"), ResNet18 at 224x224.
#   1. NICE-fixed: generator `caltech` (Table 1: log_alpha at 32x32, Up(8)
#      nearest to 256, here 28x28 -> 224), lambda1 5, lambda2 0.01, b = 16,
#      SGD lr 1e-3 with cosine decay, classifier frozen.
#   2. NICE-finetuned: the same, training the classifier's layer3, layer4 and fc
#      as well (the paper's "discriminator-finetuned").
#   3. bench/eval.py fig9 at b in {1,2,4,8,16,32} (the sides that divide 224):
#      every explanation method thresholded at NICE-fixed's mask density, the
#      random and intensity controls, NICE-fixed, NICE-finetuned (scored with
#      the classifier stored in its file), plain down-sampling with bilinear
#      upsampling, and the original images (b = 1).
#   4. a grid of 16 validation images: each with NICE-fixed's mask, the
#      overlay and the mixed-resolution image at b = 8.
# The generators are trained once into $WORK and reused (delete them to redo).
# Environment: CKPT (default /work/runs/resnet18-imagenette.safetensors, see
# docs/models.md), DATA (default folder:/work/cache/imagenette, made by
# scripts/fetch-data.sh), EPOCHS (default 10), BATCH (default 32), LIMIT
# (training images, default all), N (images per method, default 300), SLOW_N
# (mask and igos, default 4), DEVICE (default cpu), WORK (default
# bench/work/fig9-imagenette), METHODS (comma-separated subset of
# bench/eval.py's methods, default all). Skips with a notice when the
# classifier or the data is absent. Writes RESULTS_DIR (default
# bench/results)/fig9-imagenette.md, .png and fig9-imagenette-grid.png.
set -eu
res=${1:-bench/results}
ckpt=${CKPT:-/work/runs/resnet18-imagenette.safetensors}
data=${DATA:-folder:/work/cache/imagenette}
epochs=${EPOCHS:-10}
batch=${BATCH:-32}
limit=${LIMIT:-0}
n=${N:-300}
slow_n=${SLOW_N:-4}
device=${DEVICE:-cpu}
work=${WORK:-bench/work/fig9-imagenette}
methods=${METHODS:-}
bin=./bin/nicex
if [ ! -f "$ckpt" ]; then
    echo "fig9_imagenette: classifier $ckpt not found (train it: docs/models.md, ResNet18 on Imagenette): skipped"
    exit 0
fi
if [ ! -d "${data#folder:}/val" ]; then
    echo "fig9_imagenette: ${data#folder:}/val not found (run scripts/fetch-data.sh): skipped"
    exit 0
fi
mkdir -p "$res" "$work"
fixed="$work/nice-fixed.safetensors"
ft="$work/nice-finetuned.safetensors"
# the schedule's horizon: cosine over every step of the run
train() { # out finetune
    [ -f "$1" ] && { echo "== $1 exists: reused"; return 0; }
    echo "== nice train -> $1${2:+ (finetuning $2)}"
    $bin nice train --classifier "$ckpt" --data "$data" --generator caltech --lambda1 5 --lambda2 0.01 --block 16 \
        --opt sgd --lr 1e-3 --schedule "cosine:$epochs" --epochs "$epochs" --batch "$batch" --limit "$limit" --seed 0 \
        --device "$device" ${2:+--finetune "$2"} --json --out "$1"
}
train "$fixed" ""
train "$ft" "layer3,layer4,fc"
NX_BENCH_CMD="make bench-fig9-imagenette CKPT=$ckpt DATA=$data EPOCHS=$epochs BATCH=$batch LIMIT=$limit N=$n SLOW_N=$slow_n DEVICE=$device${methods:+ METHODS=$methods}" \
/usr/bin/env python3 bench/eval.py fig9 --name fig9-imagenette --data "$data" --model "$ckpt" --gen "$fixed" \
    --nice-label nice-fixed --nice-rows "nice-finetuned=$ft" --blocks 1,2,4,8,16,32 --side 224 \
    --n "$n" --slow-n "$slow_n" --device "$device" --methods "$methods" --out "$res"
$bin nice explain --gen "$fixed" --data "$data" --n 16 --cols 4 --mixed 8 --device "$device" --out "$work/grid" > /dev/null
cp "$work/grid/grid.png" "$res/fig9-imagenette-grid.png"
echo "wrote $res/fig9-imagenette.md, .png and fig9-imagenette-grid.png"
