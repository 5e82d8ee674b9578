#!/usr/bin/env bash
# pass-bulk.sh SRC STORE FPR: a new pass store at STORE holding the plaintext
# tree SRC, encrypted to FPR by one gpg run over every file (the quickest bulk
# import `pass` allows: no gpg process per entry), plaintexts then removed.
set -euo pipefail
src=$1 store=$2 fpr=$3
rm -rf "$store"
mkdir -p "$store"
cp -r "$src/." "$store/"
echo "$fpr" >"$store/.gpg-id"
(cd "$store" && find . -type f ! -name .gpg-id -print |
  gpg --batch --yes --quiet --trust-model always --recipient "$fpr" --multifile --encrypt)
find "$store" -type f ! -name '*.gpg' ! -name .gpg-id -delete
