#!/bin/sh
# deps.sh core|torch: make sure the Debian packages nicex needs are installed.
# As root, installs what is missing with apt-get; otherwise prints the exact
# command to run and fails.
set -e
case "$1" in
core) pkgs="check pkg-config zlib1g-dev libpng-dev libjpeg62-turbo-dev dataset-fashion-mnist" ;;
torch) pkgs="python3-torch python3-torchvision gnuplot-nox" ;;
*) echo "usage: $0 core|torch" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "nicex needs these Debian packages:$missing" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends$missing >/dev/null
