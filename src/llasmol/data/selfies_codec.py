"""SMILES <-> SELFIES for SMolInstruct strings.

Molecules are separated by ``.`` (kept inside one SELFIES string) or, in some SMolInstruct answers, by
``;``, which is kept between the SELFIES of the parts.
"""

from __future__ import annotations

from functools import lru_cache

import selfies

PART_SEPARATOR = ";"


@lru_cache(maxsize=1 << 17)
def smiles_to_selfies(smiles: str) -> str:
    """SELFIES of a SMILES string (cached); raises ``ValueError`` for a string SELFIES cannot encode."""
    try:
        return PART_SEPARATOR.join(selfies.encoder(part, strict=False) for part in smiles.split(PART_SEPARATOR))
    except selfies.EncoderError as error:
        raise ValueError(f"cannot write {smiles!r} as SELFIES ({str(error).splitlines()[0]})") from None


def selfies_to_smiles(text: str) -> str:
    """SMILES of a SELFIES string; raises ``ValueError`` for a string that is not SELFIES."""
    try:
        return PART_SEPARATOR.join(selfies.decoder(part) for part in text.split(PART_SEPARATOR))
    except selfies.DecoderError as error:
        raise ValueError(f"cannot read {text!r} as SELFIES ({str(error).splitlines()[0]})") from None
