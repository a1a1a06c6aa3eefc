#!/bin/sh
# nice_lambda.sh RESULTS_DIR: NICE on Fashion-MNIST with the shipped LeNet5
# (the paper's Fig. 2 and its lambda1 sweep, plus two ablations):
#   1. lambda1 in 1 5 10 20 30, lambda2 0, classifier frozen: mask density
#      and accuracy on masked test images; a mask grid per lambda1;
#   2. lambda2 > 0 against lambda2 = 0 at lambda1 5: total variation;
#   3. discriminator-finetuned (fc1, fc2) against fixed at the same lambda1
#      and block: accuracy on mixed-resolution images (b = 4, eq. 13).
# EPOCHS (default 2) sets the length of every run, LR (default 1e-2; the
# paper's 1e-3 needs its 10 epochs) the Adam learning rate, LIMIT (default
# all) the training images. Writes RESULTS_DIR/nice-lambda.md and nice-lambda/*.png.
set -eu
res=${1:-bench/results}
epochs=${EPOCHS:-2}
limit=${LIMIT:-0}
lr=${LR:-1e-2}
bin=./bin/nicex
ckpt=models/lenet5-fashion-mnist.safetensors
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$res/nice-lambda"
field() { sed -n "s/.*\"$2\": \"*\([^,\"}]*\).*/\1/p" "$1"; }
common="--classifier $ckpt --epochs $epochs --limit $limit --lr $lr --seed 0 --background zero"
md="$work/table.md"

echo "| lambda1 | lambda2 | mask density | mask mean | TV per image | accuracy on masked test images | grid |" > "$md"
echo "|---|---|---|---|---|---|---|" >> "$md"
for l1 in 1 5 10 20 30; do
    echo "== lambda1 $l1"
    $bin nice train $common --lambda1 "$l1" --lambda2 0 --json --out "$work/l$l1.safetensors" > "$work/l$l1.json"
    $bin nice explain --gen "$work/l$l1.safetensors" --n 16 --cols 8 --out "$work/ex$l1" > /dev/null
    cp "$work/ex$l1/grid.png" "$res/nice-lambda/grid-lambda1-$l1.png"
    j="$work/l$l1.json"
    awk -v l="$l1" -v d="$(field "$j" density)" -v m="$(field "$j" mask_mean)" -v tv="$(field "$j" tv)" -v a="$(field "$j" accuracy)" \
        'BEGIN { printf "| %s | 0 | %.4f | %.4f | %.1f | %.2f%% | nice-lambda/grid-lambda1-%s.png |\n", l, d, m, tv, 100 * a, l }' >> "$md"
done

echo "== lambda2 ablation"
sm="$work/smooth.md"
echo "| lambda1 | lambda2 | mask density | TV per image | accuracy |" > "$sm"
echo "|---|---|---|---|---|" >> "$sm"
for l2 in 0 0.0005 0.002; do
    if [ "$l2" = 0 ]; then j="$work/l5.json"; else
        $bin nice train $common --lambda1 5 --lambda2 "$l2" --json --out "$work/s$l2.safetensors" > "$work/s$l2.json"
        j="$work/s$l2.json"
    fi
    awk -v l2="$l2" -v d="$(field "$j" density)" -v tv="$(field "$j" tv)" -v a="$(field "$j" accuracy)" \
        'BEGIN { printf "| 5 | %s | %.4f | %.1f | %.2f%% |\n", l2, d, tv, 100 * a }' >> "$sm"
done

echo "== discriminator fixed vs finetuned (mixed resolution, b = 4)"
ft="$work/ft.md"
echo "| classifier | lambda1 | block | mask density | accuracy on mixed-resolution images |" > "$ft"
echo "|---|---|---|---|---|" >> "$ft"
for mode in fixed finetuned; do
    extra=""
    [ "$mode" = finetuned ] && extra="--finetune fc1,fc2"
    $bin nice train --classifier "$ckpt" --epochs "$epochs" --limit "$limit" --lr "$lr" --seed 0 --lambda1 5 --block 4 $extra \
        --json --out "$work/$mode.safetensors" > "$work/$mode.json"
    j="$work/$mode.json"
    awk -v m="$mode" -v d="$(field "$j" density)" -v a="$(field "$j" accuracy)" \
        'BEGIN { printf "| %s | 5 | 4 | %.4f | %.2f%% |\n", m, d, 100 * a }' >> "$ft"
done

{
    echo "# NICE on Fashion-MNIST: the lambda1 sweep (the paper's Fig. 2)"
    echo
    echo "Classifier: the shipped LeNet5 ($ckpt), frozen unless stated. Generator: Table 1's"
    echo "28x28 row. Every run: $epochs epochs of Adam (lr $lr, x0.1 every 5 epochs), batch 100,"
    echo "seed 0; closed pixels black (\`--background zero\`, the authors' MNIST code) for"
    echo "the sweeps, the eq. 13 mixed-resolution image with b = 4 for the last table."
    echo "Test-time mask: eq. 12. Density = fraction of test-time mask values > 0.5 on the"
    echo "10,000 test images; TV = per-image L1 total variation of the test-time mask (eq. 9 pairs)."
    echo
    cat "$md"
    echo
    echo "## Smoothness (lambda2)"
    echo
    cat "$sm"
    echo
    echo "## Discriminator fixed vs finetuned"
    echo
    cat "$ft"
    echo
    echo "- machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), $(nproc) cores"
    echo "- date: $(date -u +%Y-%m-%d)"
    echo "- command: \`make bench-nice-lambda\` (EPOCHS=$epochs LR=$lr LIMIT=$limit sh bench/nice_lambda.sh $res)"
} > "$res/nice-lambda.md.tmp"
mv "$res/nice-lambda.md.tmp" "$res/nice-lambda.md"
cat "$res/nice-lambda.md"
