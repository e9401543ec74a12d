"""Molecule drawings as SVG (RDKit), for the web page."""

from __future__ import annotations

from functools import lru_cache

from rdkit import Chem
from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

from llasmol.serve.validation import InvalidSmilesError, explain_invalid_smiles

MAX_SIZE = 1200


@lru_cache(maxsize=1024)
def smiles_to_svg(smiles: str, width: int = 360, height: int = 260) -> str:
    """An SVG drawing of ``smiles`` (parts separated by '.' or ';'); raises :class:`InvalidSmilesError`."""
    smiles = smiles.strip()
    mol = Chem.MolFromSmiles(smiles.replace(";", ".")) if smiles else None
    if mol is None:
        raise InvalidSmilesError(smiles, explain_invalid_smiles(smiles) if smiles else "it is empty")
    rdDepictor.SetPreferCoordGen(True)
    rdDepictor.Compute2DCoords(mol)
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    options = drawer.drawOptions()
    options.clearBackground = False
    options.addStereoAnnotation = True
    options.bondLineWidth = 1.5
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return svg[svg.index("<svg"):]  # drop the XML declaration so the SVG can be inlined
