#!/bin/sh
# demo.sh: the README's demo. Explains the shipped LeNet5 on Fashion-MNIST
# with a briefly trained NICE generator and writes everything to demo/.
set -eu
out=${1:-demo}
bin=./bin/nicex
ckpt=models/lenet5-fashion-mnist.safetensors
mkdir -p "$out"
if [ ! -f "$ckpt" ]; then
    echo "== no shipped classifier: training LeNet5 for 2 epochs"
    $bin train --model lenet5 --epochs 2 --out "$out/lenet5.safetensors"
    ckpt="$out/lenet5.safetensors"
fi
echo "== classifier $ckpt"
$bin eval --ckpt "$ckpt" --json > "$out/classifier.json"
cat "$out/classifier.json"
echo "== training a NICE generator (1 epoch on 30,000 images, lambda1 5, lr 1e-2, closed pixels black as in the authors' MNIST code)"
$bin nice train --classifier "$ckpt" --epochs 1 --limit 30000 --lambda1 5 --lr 1e-2 --background zero --seed 0 --out "$out/nice.safetensors"
echo "== explanations"
$bin nice explain --gen "$out/nice.safetensors" --n 24 --out "$out/explain" --json > "$out/explain.json"
cat "$out/explain.json"
echo "== mixed-resolution compression at b = 4 (1000 test images)"
$bin nice compress --gen "$out/nice.safetensors" --block 4 --n 1000 --out "$out/compress" --json > "$out/compress.json"
cat "$out/compress.json"
# the summary, with POSIX tools only (a fresh machine may have no Python)
field() { sed -n "s/.*\"$2\": \"*\([^,\"}]*\).*/\1/p" "$out/$1.json"; }
awk -v acc="$(field classifier accuracy)" -v dens="$(field explain density)" -v n="$(field explain n)" \
    -v block="$(field compress block)" -v macc="$(field compress accuracy)" -v cn="$(field compress n)" \
    -v ob="$(field compress original_mean_bytes)" -v mb="$(field compress mean_bytes)" -v ratio="$(field compress ratio)" 'BEGIN {
    print "# nicex demo\n"
    print "| what | value |"
    print "|---|---|"
    printf "| classifier accuracy on clean test images | %.2f%% |\n", 100 * acc
    printf "| mask density (test-time mask > 0.5), %d images | %.3f |\n", n, dens
    printf "| accuracy on mixed-resolution images (b = %d, 8-bit PNG), %d images | %.2f%% |\n", block, cn, 100 * macc
    printf "| mean PNG bytes: original / mixed | %.0f / %.0f (%.2fx smaller) |\n", ob, mb, ratio
    print "\nPictures: explain/grid.png (image, mask, overlay), compress/*.png."
}' > "$out/summary.md"
cat "$out/summary.md"
echo "== done: $out/summary.md, $out/explain/grid.png, $out/compress/"
