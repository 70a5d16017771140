#!/usr/bin/env bash
# Download CIFAR-10 (python version) into the folder of this script. From the assignment folder:
#
#     bash cs231n/datasets/get_datasets.sh            (it works from any other folder too)
#     !bash cs231n/datasets/get_datasets.sh           (in a Colab cell, after the notebook's first cell)
#
# Fetches the official archive with curl (or wget), checks its md5, unpacks it into
# cifar-10-batches-py/ and removes the archive. Does nothing if cifar-10-batches-py/ is already
# there. An archive cifar-10-python.tar.gz already in this folder (downloaded by hand) is used
# instead of downloading; it is checked like a download.
#
# Environment (used by the repository's tests, which must not download):
#     CS231N_CIFAR10_MD5   expected md5 of the archive (default: the official one)
set -euo pipefail

URL="http://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
EXPECTED_MD5="${CS231N_CIFAR10_MD5:-c58f30108f718f92721af3b95e74349a}"
ARCHIVE="cifar-10-python.tar.gz"
FOLDER="cifar-10-batches-py"

cd "$(dirname "${BASH_SOURCE[0]}")"
HERE="$(pwd)"

fail() {
    echo "get_datasets.sh: error: $*" >&2
    exit 1
}

if [ -d "$FOLDER" ]; then
    echo "CIFAR-10 is already in $HERE/$FOLDER: nothing to do."
    echo "(Delete that folder and run this script again to download it afresh.)"
    exit 0
fi

if [ ! -f "$ARCHIVE" ]; then
    echo "Downloading $URL into $HERE ..."
    # Download under a temporary name so that an interrupted download is never taken as done.
    trap 'rm -f "$ARCHIVE.part"' EXIT
    if command -v curl >/dev/null 2>&1; then
        curl --fail --location --retry 3 --output "$ARCHIVE.part" "$URL" \
            || fail "curl could not download $URL; check your connection and run this again"
    elif command -v wget >/dev/null 2>&1; then
        wget --tries=3 --output-document="$ARCHIVE.part" "$URL" \
            || fail "wget could not download $URL; check your connection and run this again"
    else
        fail "neither curl nor wget is installed; install one of them, or download $URL" \
            "by hand into $HERE and run this script again"
    fi
    mv "$ARCHIVE.part" "$ARCHIVE"
    trap - EXIT
fi

if command -v md5sum >/dev/null 2>&1; then
    read -r ACTUAL_MD5 _ < <(md5sum "$ARCHIVE")
elif command -v md5 >/dev/null 2>&1; then
    ACTUAL_MD5="$(md5 -q "$ARCHIVE")"  # macOS
else
    fail "neither md5sum nor md5 is installed, so $HERE/$ARCHIVE cannot be checked"
fi
if [ "$ACTUAL_MD5" != "$EXPECTED_MD5" ]; then
    rm -f "$ARCHIVE"
    fail "$ARCHIVE has md5 $ACTUAL_MD5, expected $EXPECTED_MD5: the download is corrupt or" \
        "incomplete. It was deleted; run this script again."
fi

echo "Unpacking $ARCHIVE ..."
# Unpack beside the final folder and move it into place at the end, so that a failed unpack
# never leaves a half-filled cifar-10-batches-py/ that the next run would take as complete.
UNPACK_DIR="$(mktemp -d "$HERE/.unpack.XXXXXX")"
trap 'rm -rf "$UNPACK_DIR"' EXIT
tar -xzf "$ARCHIVE" -C "$UNPACK_DIR" \
    || fail "could not unpack $HERE/$ARCHIVE; delete it and run this script again"
[ -d "$UNPACK_DIR/$FOLDER" ] \
    || fail "$ARCHIVE does not contain $FOLDER/; delete it and run this script again"
mv "$UNPACK_DIR/$FOLDER" "$FOLDER"
rm -f "$ARCHIVE"
echo "CIFAR-10 is ready in $HERE/$FOLDER"
