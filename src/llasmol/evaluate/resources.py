"""Resources of the caption metrics: NLTK's WordNet (METEOR) and the SciBERT vocabulary.

WordNet is taken from NLTK's search path (``NLTK_DATA`` and NLTK's default folders); else it is
built from Debian's ``wordnet-base`` and ``wordnet-sense-index`` files into the cache; else NLTK's
downloader fetches it. The SciBERT vocabulary comes from ``--scibert-vocab`` (a ``vocab.txt`` or a
tokenizer folder), else ``LLASMOL_SCIBERT_VOCAB``, else the Hugging Face hub.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from llasmol.errors import LlasmolError

SCIBERT_HUB_ID = "allenai/scibert_scivocab_uncased"
SCIBERT_VOCAB_ENV = "LLASMOL_SCIBERT_VOCAB"
_MIN_VOCABULARY = 1000  # SciBERT's has 31,090 tokens
MAX_CAPTION_TOKENS = 512
DEBIAN_WORDNET = Path("/usr/share/wordnet")
_DEBIAN_FILES = (
    "adj.exc", "adv.exc", "noun.exc", "verb.exc", "data.adj", "data.adv", "data.noun", "data.verb",
    "index.adj", "index.adv", "index.noun", "index.verb", "index.sense", "cntlist.rev",
)
# WordNet 3.0's lexicographer files (lexnames(5WN)); no Debian package ships the 'lexnames' table.
_LEXICOGRAPHER_FILES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
    "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
    "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
    "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
)
_SYNTACTIC_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


class ResourceError(LlasmolError, RuntimeError):
    """A resource a metric needs is missing; the message says how to provide it."""


def cache_dir() -> Path:
    """``$LLASMOL_CACHE``, else ``$XDG_CACHE_HOME/llasmol``, else ``~/.cache/llasmol``."""
    if os.environ.get("LLASMOL_CACHE"):
        return Path(os.environ["LLASMOL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "llasmol"


def lexnames_table() -> str:
    """The ``lexnames`` file NLTK's WordNet reader needs: number, file name, syntactic category."""
    rows = [f"{number:02d}\t{name}\t{_SYNTACTIC_CATEGORY[name.split('.')[0]]}"
            for number, name in enumerate(_LEXICOGRAPHER_FILES)]
    return "\n".join(rows) + "\n"


def _nltk_wordnet_root() -> Path | None:
    """The NLTK data folder that holds a readable WordNet corpus, if any."""
    import nltk

    try:
        pointer = nltk.data.find("corpora/wordnet")
    except LookupError:
        try:
            pointer = nltk.data.find("corpora/wordnet.zip")
        except LookupError:
            return None
    path = Path(str(pointer.path if hasattr(pointer, "path") else pointer))
    if path.is_dir() and not (path / "lexnames").is_file():
        return None
    return path.parent.parent


def build_wordnet_from_debian(data_root: Path, source: Path = DEBIAN_WORDNET) -> Path:
    """Copy Debian's WordNet 3.0 files (and a ``lexnames`` table) into ``data_root/corpora/wordnet``."""
    missing = [name for name in _DEBIAN_FILES if not (source / name).is_file()]
    if missing:
        raise ResourceError(f"{source} lacks {', '.join(missing)} (apt-get install wordnet-base wordnet-sense-index)")
    corpora = data_root / "corpora"
    corpora.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=corpora))
    for name in _DEBIAN_FILES:
        shutil.copyfile(source / name, staging / name)  # copies: NLTK refuses links leaving its folder
    (staging / "lexnames").write_text(lexnames_table(), encoding="utf-8")
    target = corpora / "wordnet"
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return data_root


def use_nltk_data(root: Path | str) -> None:
    """Put ``root`` first on NLTK's data path (in this process)."""
    import nltk

    root = str(root)
    if root not in nltk.data.path:
        nltk.data.path.insert(0, root)


def ensure_wordnet() -> Path:
    """The NLTK data folder holding WordNet, building or downloading it into the cache if needed."""
    found = _nltk_wordnet_root()
    if found is not None:
        return found
    data_root = cache_dir() / "nltk_data"
    if not (data_root / "corpora" / "wordnet" / "lexnames").is_file():
        if (DEBIAN_WORDNET / "index.sense").is_file():
            build_wordnet_from_debian(data_root)
        else:
            _download_wordnet(data_root)
    use_nltk_data(data_root)
    return data_root


def _download_wordnet(data_root: Path) -> None:
    import nltk

    try:
        done = nltk.download("wordnet", download_dir=str(data_root), quiet=True, raise_on_error=True)
    except Exception as error:  # network errors come in many types
        done = False
        reason = f" ({error})"
    else:
        reason = ""
    if not done:
        raise ResourceError(
            "WordNet (needed by METEOR) not found and could not be downloaded" + reason + "; set NLTK_DATA to a "
            "folder holding corpora/wordnet, or install Debian's wordnet-base and wordnet-sense-index packages "
            "(scripts/setup_wordnet.sh builds it offline)"
        )


def load_caption_tokenizer(vocab: str | Path | None = None) -> Any:
    """The lower-casing SciBERT WordPiece tokenizer of the caption metrics (a ``tokenizers`` tokenizer).

    ``vocab``: a ``vocab.txt`` file, a tokenizer folder or a hub id; default
    ``$LLASMOL_SCIBERT_VOCAB``, else ``allenai/scibert_scivocab_uncased`` from the hub. A
    vocabulary file is read by ``tokenizers`` directly (the same tokens as transformers'
    ``BertTokenizerFast``, without importing transformers); a folder or hub id goes through
    transformers. Encodings are truncated at 512 tokens.
    """
    source = str(vocab or os.environ.get(SCIBERT_VOCAB_ENV) or SCIBERT_HUB_ID)
    path = Path(source).expanduser()
    if path.is_file():
        from tokenizers.implementations import BertWordPieceTokenizer

        tokenizer = BertWordPieceTokenizer(str(path), lowercase=True)
    elif not path.is_dir() and (path.suffix or path.is_absolute() or source.startswith((".", "~"))):
        raise ResourceError(f"SciBERT vocabulary not found: {source}")
    else:
        from transformers import BertTokenizerFast

        try:
            tokenizer = BertTokenizerFast.from_pretrained(str(path) if path.is_dir() else source,
                                                          do_lower_case=True).backend_tokenizer
        except Exception as error:  # offline, missing repository, network: many exception types
            raise _tokenizer_error(source, type(error).__name__) from error
    # transformers 5 returns a tokenizer with only the special tokens for a repository it cannot find
    if tokenizer.get_vocab_size() < _MIN_VOCABULARY:
        raise _tokenizer_error(source, f"{tokenizer.get_vocab_size()} tokens in its vocabulary")
    tokenizer.enable_truncation(MAX_CAPTION_TOKENS)
    return tokenizer


def _tokenizer_error(source: str, reason: str) -> ResourceError:
    return ResourceError(
        f"cannot load the SciBERT tokenizer {source!r} ({reason}); offline, pass --scibert-vocab PATH/vocab.txt "
        f"or set {SCIBERT_VOCAB_ENV}"
    )
