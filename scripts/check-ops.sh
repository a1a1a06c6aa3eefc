#!/bin/sh
# check-ops.sh: every op of autograd/ops.def has all the places an op lives
# (docs/adding-an-op.md). Run by `make test` (so CI); exits 1 naming each gap.
#
# For every X(name) in autograd/ops.def:
#   - autograd/op_NAME.c exists and its header comment (the first comment of
#     the file) has a line " * kernels:  FILE, FILE, ..." naming its kernel
#     files, brace sets expanded (kernels/pool.{h,c,cu} is pool.h, pool.c,
#     pool.cu), and every one of them exists;
#   - the op file includes the first file named (its family header);
#   - a gradient-check case: int gradcase_NAME(void) in tests/grad/;
#   - a golden case: int goldcase_NAME(void) in tests/golden/;
#   - a CPU-vs-CUDA case: int cudacase_NAME(void) in tests/suite_cuda.c.
# Usage: sh scripts/check-ops.sh [repository root, default .]
set -u
cd "${1:-.}" || exit 2
defs=autograd/ops.def
[ -f "$defs" ] || { echo "check-ops: $defs not found" >&2; exit 2; }
ops=$(sed -n 's/^X(\([a-z0-9_]*\)).*/\1/p' "$defs")
[ -n "$ops" ] || { echo "check-ops: no X(name) lines in $defs" >&2; exit 1; }
fail=0
miss() { echo "check-ops: op '$1': $2" >&2; fail=1; }
n=0
for op in $ops; do
    n=$((n + 1))
    f=autograd/op_$op.c
    if [ ! -f "$f" ]; then
        miss "$op" "no $f"
    else
        # the header comment: from the first line to the first line holding */
        line=$(sed -n '1,/\*\//p' "$f" | sed -n '/^ \* kernels: /,/^ \*\( [a-z]*:\|\/\)/p' |
            sed -e '/^ \*\//d' -e 's/^ \* kernels: *//' -e 's/^ \* *//' | tr '\n' ' ')
        if [ -z "$line" ]; then
            miss "$op" "$f: its header comment has no ' * kernels:' line naming its kernel files"
        else
            first=""
            for item in $(echo "$line" | sed 's/, / /g'); do
                case "$item" in
                *"{"*"}"*)
                    stem=${item%%\{*}; rest=${item#*\{}; exts=${rest%\}*}
                    files=$(echo "$exts" | tr ',' ' ' | sed "s|\([^ ]*\)|$stem\1|g") ;;
                *) files=$item ;;
                esac
                for k in $files; do
                    [ -z "$first" ] && first=$k
                    [ -f "$k" ] || miss "$op" "$f names $k, which does not exist"
                done
            done
            case "$first" in
            *.h) grep -q "#include \"$first\"" "$f" || miss "$op" "$f does not include its family header $first" ;;
            *) miss "$op" "$f: the first kernel file named ($first) is not the family header" ;;
            esac
        fi
    fi
    grep -rqs "int gradcase_$op(void)" tests/grad || miss "$op" "no gradient-check case (int gradcase_$op(void) in tests/grad/)"
    grep -rqs "int goldcase_$op(void)" tests/golden || miss "$op" "no golden case (int goldcase_$op(void) in tests/golden/)"
    grep -qs "int cudacase_$op(void)" tests/suite_cuda.c || miss "$op" "no CUDA case (int cudacase_$op(void) in tests/suite_cuda.c)"
done
[ $fail -eq 0 ] && echo "check-ops: $n ops in $defs, each with its op file, kernel files, grad, golden and CUDA case"
exit $fail
