#!/usr/bin/env bash
# Build NLTK's WordNet 3.0 corpus (needed by METEOR) offline from Debian's wordnet packages.
# Usage: scripts/setup_wordnet.sh NLTK_DATA_DIR   (.venv/nltk_data is on NLTK's default path)
set -euo pipefail
dest="${1:?usage: setup_wordnet.sh NLTK_DATA_DIR}/corpora/wordnet"
here="$(cd "$(dirname "$0")" && pwd)"
[ -f "$dest/lexnames" ] && [ -f "$dest/index.sense" ] && exit 0
if [ ! -f /usr/share/wordnet/index.sense ] || [ ! -f /usr/share/wordnet/data.noun ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends wordnet-base wordnet-sense-index
fi
mkdir -p "$dest"
# Copies, not links: NLTK's path security rejects links that leave the data folder.
for f in adj.exc adv.exc noun.exc verb.exc data.adj data.adv data.noun data.verb \
         index.adj index.adv index.noun index.verb index.sense cntlist.rev; do
  cp "/usr/share/wordnet/$f" "$dest/"
done
# No Debian package ships 'lexnames' (the table of lexicographer files from lexnames(5WN)).
cp "$here/wordnet_lexnames" "$dest/lexnames"
echo "WordNet ready in $dest"
