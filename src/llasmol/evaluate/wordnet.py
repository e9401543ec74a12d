"""WordNet as METEOR reads it: NLTK's reader, opened and looked up in a fraction of the time.

METEOR asks WordNet for one thing: the lemma names of a word's synsets. NLTK's reader parses all
four index files when it opens (155k lines) and builds a full synset object (gloss, pointers,
frames) for each synset looked up. :func:`english_wordnet_reader` gives NLTK's reader with the
index parsed lemma by lemma when first asked for, and ``synonym_names`` reading only the lemma
names from a synset's data line. Both follow NLTK's parsing rules and are checked against NLTK's
reader (the whole index, and the lemma names of sampled synsets) in the tests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

_INDEX_SUFFIXES = ("adj", "adv", "noun", "verb")  # NLTK's _FILEMAP order, which sets each entry's key order
_ADJ, _ADJ_SAT = "a", "s"
# What NLTK strips from a lemma name: a trailing syntactic marker like "(a)" or "(ip)".
_SYNTACTIC_MARKER = re.compile(r"(.*?)(\([^()]*\))?$")


def _lines(text: str) -> Iterator[str]:
    """Lines as NLTK reads an index file: the licence header (lines starting with a space) left out."""
    return (line for line in text.split("\n") if line and not line.startswith(" "))


class LemmaIndex(Mapping[str, dict[str, list[int]]]):
    """NLTK's ``lemma -> {pos: synset offsets}`` map, each lemma's entry parsed when first asked for.

    Opening keeps each index line unparsed under its lemma; an entry is parsed by NLTK's rules
    (an adjective's offsets also listed under ``'s'``, restricted to adjective satellites).
    """

    def __init__(self, index_texts: Sequence[tuple[str, str]], satellite_offsets: set[int]) -> None:
        self._lines_by_file = [(suffix, {line.split(None, 1)[0]: line for line in _lines(text)})
                               for suffix, text in index_texts]
        self._satellite_offsets = satellite_offsets
        self._entries: dict[str, dict[str, list[int]]] = {}

    def __getitem__(self, lemma: str) -> dict[str, list[int]]:
        entry = self._entries.get(lemma)
        if entry is None:
            lines = [(suffix, lines[lemma]) for suffix, lines in self._lines_by_file if lemma in lines]
            if not lines:
                raise KeyError(lemma)
            entry = self._entries[lemma] = {}
            for suffix, line in lines:
                self._add_line(entry, suffix, line)
        return entry

    def _add_line(self, entry: dict[str, list[int]], suffix: str, line: str) -> None:
        from nltk.corpus.reader.wordnet import WordNetError

        fields = line.split()
        try:
            pos, n_synsets, n_pointers = fields[1], int(fields[2]), int(fields[3])
            n_senses = int(fields[4 + n_pointers])
            if n_synsets <= 0 or n_senses != n_synsets:
                raise ValueError(f"{n_synsets} synsets but {n_senses} senses")
            first = 6 + n_pointers
            offsets = [int(field) for field in fields[first:first + n_synsets]]
            if len(offsets) != n_synsets:
                raise ValueError(f"{n_synsets} synsets but {len(offsets)} offsets")
        except (IndexError, ValueError) as error:
            raise WordNetError(f"file index.{suffix}, lemma {fields[0]!r}: {error}") from error
        entry[pos] = offsets
        if pos == _ADJ:
            entry[_ADJ_SAT] = [offset for offset in offsets if offset in self._satellite_offsets]

    def __contains__(self, lemma: object) -> bool:
        return lemma in self._entries or any(lemma in lines for _, lines in self._lines_by_file)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(lemma for _, lines in self._lines_by_file for lemma in lines))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _satellite_offsets(adjective_data: bytes) -> set[int]:
    """Offsets of adjective satellites: data.adj lines whose third field is 's' (NLTK's scan)."""
    offsets = set()
    for line in adjective_data.split(b"\n"):
        if line.strip() and not line.startswith(b" "):
            fields = line.split(None, 3)
            if len(fields) >= 3 and fields[2] == b"s":
                offsets.add(int(fields[0]))
    return offsets


def lemma_names_of_line(line: str, offset: int) -> list[str] | None:
    """The lemma names of a synset's data line as NLTK reads them; ``None`` for a line NLTK should parse.

    The line must start with the offset (zero-padded to 8 digits) and hold one '|' before the gloss.
    """
    if line[:8] != f"{'0' * (8 - len(str(offset)))}{offset}" or line.count("|") != 1:
        return None
    fields = line.split("|")[0].split()
    try:
        count = int(fields[3], 16)
    except (IndexError, ValueError):
        return None
    if count <= 0 or len(fields) < 4 + 2 * count:
        return None
    return [_SYNTACTIC_MARKER.match(name).group(1) for name in fields[4:4 + 2 * count:2]]


def english_wordnet_reader(root: Any) -> Any:
    """NLTK's WordNet reader for English look-ups, quick to open; ``root`` as ``nltk.data.find`` gives it.

    It skips the WordNet 3.0 sense map, which only multilingual data uses (building it reads all
    of ``index.sense``). From a folder, the index is a :class:`LemmaIndex`, the start-up files are
    read with Python's own line reader instead of NLTK's seekable stream, and ``synonym_names``
    reads synset lines from the data files kept in memory. From a zip file the reader is NLTK's,
    less the sense map.
    """
    from nltk.corpus.reader.wordnet import POS_LIST, WordNetCorpusReader
    from nltk.data import FileSystemPathPointer

    class EnglishWordNetCorpusReader(WordNetCorpusReader):
        _data_bytes: dict[str, bytes] | None = None
        _starting = False

        def __init__(self, root: Any) -> None:
            if isinstance(root, FileSystemPathPointer):
                self._data_bytes = {}
                for suffix in _INDEX_SUFFIXES:
                    with open(os.path.join(root.path, f"data.{suffix}"), "rb") as file:
                        self._data_bytes[suffix] = file.read()
            self._synset_names: dict[tuple[str, int], list[str]] = {}
            self._starting = self._data_bytes is not None
            try:
                super().__init__(root, None)
            finally:
                self._starting = False

        def map_wn(self, version: str = "wordnet") -> None:
            return None

        def open(self, file: str) -> Any:
            if self._starting:
                return open(os.path.join(self._root.path, file), encoding=self._encoding)
            return super().open(file)

        def _scan_satellites(self) -> None:
            if self._data_bytes is None:
                super()._scan_satellites()
            else:
                self.satellite_offsets = _satellite_offsets(self._data_bytes["adj"])

        def _load_lemma_pos_offset_map(self) -> None:
            if self._data_bytes is None:
                super()._load_lemma_pos_offset_map()
                return
            texts = []
            for suffix in _INDEX_SUFFIXES:
                with self.open(f"index.{suffix}") as file:
                    texts.append((suffix, file.read()))
            self._lemma_pos_offset_map = LemmaIndex(texts, self.satellite_offsets)

        def synonym_names(self, word: str) -> list[str]:
            """The lemma names of ``self.synsets(word)``'s synsets, in order, repeats included."""
            lemma = word.lower()
            return [name for pos in POS_LIST for form in self._morphy(lemma, pos)
                    for offset in self._lemma_pos_offset_map[form].get(pos, [])
                    for name in self._lemma_names(pos, offset)]

        def _lemma_names(self, pos: str, offset: int) -> list[str]:
            names = self._synset_names.get((pos, offset))
            if names is None:
                names = self._synset_names[(pos, offset)] = self._read_lemma_names(pos, offset)
            return names

        def _read_lemma_names(self, pos: str, offset: int) -> list[str]:
            """Lemma names from the synset's data line as NLTK parses it; NLTK's own synset for any other line."""
            line = self._data_line(pos, offset)
            names = None if line is None else lemma_names_of_line(line, offset)
            if names is None:
                names = [lemma.name() for lemma in self.synset_from_pos_and_offset(pos, offset).lemmas()]
            return names

        def _data_line(self, pos: str, offset: int) -> str | None:
            if self._data_bytes is None:
                return None
            data = self._data_bytes[self._FILEMAP[_ADJ if pos == _ADJ_SAT else pos]]
            end = data.find(b"\n", offset)
            return data[offset:end].decode(self._encoding) if 0 <= offset < len(data) and end > 0 else None

    return EnglishWordNetCorpusReader(root)
