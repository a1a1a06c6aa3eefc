#!/bin/sh
# compare_methods.sh: every method on the same 8 Fashion-MNIST test images for
# the shipped LeNet5, one grid (rows images, columns input + each method).
#   sh scripts/compare_methods.sh bench/results   (make compare-methods)
# Writes OUT/compare-methods.png and OUT/compare-methods.md (the commands, timings).
# rtis uses the shipped RTIS model. cam is absent: LeNet5 is not global-average-pool + fc (nicex explain refuses it).
set -e
OUT=${1:-bench/results}
NICEX=${NICEX:-bin/nicex}
CKPT=${CKPT:-models/lenet5-fashion-mnist.safetensors}
N=${N:-8}
WORK=${WORK:-$OUT/compare-methods}
mkdir -p "$OUT" "$WORK"
METHODS="intensity random saliency gradcam ig mask igos rtis nice"
MD="$OUT/compare-methods.md"
{
  echo "# Every method on the same $N Fashion-MNIST test images (shipped LeNet5)"
  echo
  echo "![compare-methods](compare-methods.png)"
  echo
  echo "Rows: test images 0..$((N-1)) (T: the explained target = the prediction, L: the label)."
  echo "Columns: the input, then each method's map (min-max normalised per image; bright = important)."
  echo "Every method runs with its defaults (docs/baselines.md); CAM is absent because LeNet5 is not"
  echo "global-average-pool + fc. Made by \`make compare-methods\`:"
  echo
  echo '```'
} > "$MD"
DIRS=""
for m in $METHODS; do
  cmd="$NICEX explain --method $m --classifier $CKPT --n $N --seed 0 --out $WORK/$m --json"
  echo "$cmd" >> "$MD"
  json=$(OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} $cmd)
  echo "$json"
  echo "$json" >> "$WORK/timings.jsonl.tmp"
  DIRS="$DIRS $WORK/$m"
done
echo "$NICEX compare-maps --out $OUT/compare-methods.png$DIRS" >> "$MD"
$NICEX compare-maps --out "$OUT/compare-methods.png" $DIRS
{
  echo '```'
  echo
  echo "Seconds and images/s of this run ($N images, CPU, OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}; a shared machine, so indicative only):"
  echo
  echo "| method | seconds | images/s |"
  echo "|---|---|---|"
  sed 's/.*"method": "\([a-z]*\)", "n": [0-9]*, "seconds": \([0-9.]*\), "images_per_s": \([0-9.]*\).*/| \1 | \2 | \3 |/' "$WORK/timings.jsonl.tmp"
} >> "$MD"
rm -f "$WORK/timings.jsonl.tmp"
echo "wrote $OUT/compare-methods.png and $MD"
