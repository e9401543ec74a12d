"""SMILES-answer metrics (FS, RS, MG, NC-I2S) on small cases built from real validation samples."""

from __future__ import annotations

import pytest
from rdkit import Chem

from llasmol.data.raw import iter_raw_records
from llasmol.evaluate import InvalidGoldError, PredictionRecord, score_task
from llasmol.evaluate.evaluator import load_task_inputs
from llasmol.evaluate.memo import forget_remembered
from llasmol.evaluate.reference import reference_similarities
from llasmol.tasks import get_task


def _records(folder, task, count):
    return list(iter_raw_records(folder / f"{task}.jsonl"))[:count]


@pytest.fixture(scope="module")
def forward_case(smolinstruct_val):
    """4 real FS samples answered: exact gold / another valid molecule then gold / invalid then missing / skipped."""
    raw = _records(smolinstruct_val, "forward_synthesis", 4)
    answers = [
        [raw[0].output, "C"],
        [raw[2].output, raw[1].output],
        ["C1CC(", ""],
        None,
    ]
    records = [PredictionRecord.of(r.input, r.output, a) for r, a in zip(raw, answers, strict=True)]
    return raw, records


def test_forward_synthesis_counts_by_hand(forward_case):
    raw, records = forward_case
    metrics = score_task("FS", records)
    assert metrics["num_all"] == 4
    assert metrics["num_t1_no_answer"] == 1  # the skipped sample
    assert metrics["num_t2_no_answer"] == 1  # sample 3 has an (invalid) first answer
    assert metrics["num_t1_invalid"] == 1  # sample 3's first answer
    assert metrics["num_t2_invalid"] == 0  # a missing answer is not invalid
    assert metrics["num_t1_exact_match"] == 1
    assert metrics["num_t2_exact_match"] == 2
    assert metrics["EM"] == pytest.approx(25.0)
    assert metrics["Valid"] == pytest.approx(50.0)
    # fingerprints: mean over the two samples with a valid first answer (1.0 and answer-vs-gold)
    other = reference_similarities(raw[2].output, raw[1].output)
    assert metrics["t1_maccs_fps"] == pytest.approx((1.0 + other[0]) / 2)
    assert metrics["t1_rdk_fps"] == pytest.approx((1.0 + other[1]) / 2)
    assert metrics["t1_morgan_fps"] == pytest.approx((1.0 + other[2]) / 2)
    assert metrics["FTS"] == pytest.approx(100 * (1.0 + other[2]) / 2)
    assert not any(key.startswith("num_t3") for key in metrics)  # k is the number of answers given


def test_skipped_first_sample_and_short_answer_lists(forward_case):
    raw, records = forward_case
    reordered = [records[3], records[0], records[1], records[2]]
    assert score_task("FS", reordered) == score_task("FS", records)
    shorter = [PredictionRecord.of(raw[0].input, raw[0].output, [raw[0].output]), *records[1:]]
    metrics = score_task("FS", shorter)
    assert metrics["num_t2_no_answer"] == 1 and metrics["num_t2_exact_match"] == 2


def test_exact_match_is_by_molecule_identity_not_string(smolinstruct_val):
    record = _records(smolinstruct_val, "name_conversion-i2s", 1)[0]
    mol = Chem.MolFromSmiles(record.output)
    rewritten = Chem.MolToSmiles(mol, doRandom=True, canonical=False)
    for atom in mol.GetAtoms():
        atom.SetAtomMapNum(atom.GetIdx() + 1)
    atom_mapped = Chem.MolToSmiles(mol)
    assert ":1]" in atom_mapped
    assert rewritten != record.output
    metrics = score_task("NC-I2S", [PredictionRecord.of(record.input, record.output, [rewritten, atom_mapped])])
    assert metrics["num_t1_exact_match"] == 1 and metrics["EM"] == 100.0 and metrics["Valid"] == 100.0


def test_semicolons_read_as_dots_and_reactant_set_matches(smolinstruct_val):
    raw = [r for r in _records(smolinstruct_val, "retrosynthesis", 60) if r.output.count(".") == 1][:3]
    assert len(raw) == 3
    first_parts = [r.output.split(".") for r in raw]
    unrelated = "CCCCCCCCCCCCCCCCCCCC(=O)O"
    answers = [
        [f"{first_parts[0][1]};{first_parts[0][0]}"],  # same set, other order, ';' separated: exact
        [first_parts[1][0]],  # one reactant only: subset and intersection, not exact
        [f"{first_parts[2][0]}.{unrelated}"],  # shares one reactant: intersection only
    ]
    records = [PredictionRecord.of(r.input, r.output, a) for r, a in zip(raw, answers, strict=True)]
    metrics = score_task("RS", records)
    assert metrics["num_t1_exact_match"] == 1
    assert metrics["num_t1_subset"] == 2  # exact also counts as subset
    assert metrics["num_t1_intersection"] == 3


def test_multiple_golds_of_one_input_all_count(smolinstruct_val, tmp_path):
    by_input: dict[str, list] = {}
    for record in iter_raw_records(smolinstruct_val / "forward_synthesis.jsonl"):
        by_input.setdefault(record.input, []).append(record)
    first, second = next(group for group in by_input.values() if len(group) > 1)
    assert first.output != second.output
    line = {"input": first.input, "gold": first.output, "pred": [second.output], "task": "forward_synthesis"}
    (tmp_path / "forward_synthesis.jsonl").write_text(__import__("json").dumps(line) + "\n")
    with_split = load_task_inputs(tmp_path, smolinstruct_val)[0]
    assert sorted(with_split.golds.answers[0]) == sorted([first.output, second.output])
    assert score_task("FS", with_split.records, with_split.golds.answers)["num_t1_exact_match"] == 1
    assert score_task("FS", with_split.records)["num_t1_exact_match"] == 0  # own gold only


def test_invalid_gold_is_an_error_naming_it():
    record = PredictionRecord.of("CCO", "C1CC(", ["CCO"])
    with pytest.raises(InvalidGoldError, match=r"C1CC\("):
        score_task(get_task("MG"), [record])


def test_pool_gives_the_same_numbers(forward_case):
    from llasmol.evaluate.parallel import WorkPool

    _, records = forward_case
    forget_remembered()
    with WorkPool(2, chunk_size=1) as pool:
        on_workers = score_task("FS", records, pool=pool)
    forget_remembered()
    assert on_workers == score_task("FS", records)


@pytest.mark.parametrize("smiles", ["CCO", "C", "[Na+].[Cl-]", "[H][H]", "O=C(O)C1=CC=CC=C1", "[He]", "Cl", "[CH2]",
                                    "CC", "C=C", "C#C", "N", "C1CC1", "[Fe]"])
def test_similarity_to_itself_needs_no_full_fingerprints(smiles):
    from llasmol.chem import self_similarities

    canonical = Chem.MolToSmiles(Chem.MolFromSmiles(smiles), kekuleSmiles=True)
    assert self_similarities(Chem.MolFromSmiles(canonical)) == reference_similarities(canonical, canonical)


def test_similarity_to_itself_equals_the_fingerprints_on_real_molecules(smolinstruct_val):
    from llasmol.chem import self_similarities

    parts = {part for name in ("retrosynthesis", "molecule_generation")
             for record in _records(smolinstruct_val, name, 400) for part in record.output.split(".")
             if Chem.MolFromSmiles(part) is not None}
    assert len(parts) > 700
    mismatches = [part for part in parts
                  if self_similarities(Chem.MolFromSmiles(part)) != reference_similarities(part, part)]
    assert not mismatches


@pytest.mark.parametrize("smiles", ["CCO", "C", "N", "O", "CC", "C=C", "C#C", "ClCCl", "C1CC1", "C1CC1.O",
                                    "CC(C)(C)C", "CN.C", "BrBr", "C/C=C/C", "C[N+](C)(C)C", "c1ccccc1", "*CN"])
def test_self_similarities_read_from_text_equal_the_fingerprints_or_are_left_open(smiles):
    from llasmol.chem import self_similarities_of_text

    canonical = Chem.MolToSmiles(Chem.MolFromSmiles(smiles), kekuleSmiles=True)
    from_text = self_similarities_of_text(canonical)
    settled = any(char in canonical for char in "NO1") and "[" not in canonical and "*" not in canonical
    assert (from_text is not None) == settled
    if from_text is not None:
        assert from_text == reference_similarities(canonical, canonical)


@pytest.mark.parametrize("smiles", ["C[N+](C)(C)C", "[NH4+]", "[Na+].[OH-]", "[Na+].[Cl-]", "[Na]C", "[Nb]", "[Os]",
                                    "[O-][N+](=O)C", "[2H]OC", "[H]N([H])C", "[H+].[Cl-]", "[13CH3]O", "*N", "[*]N",
                                    "C[Si](C)(C)C1CC1", "[Hg]", "[NH3+]CC(=O)[O-]", "[Cu+2].[O-]S(=O)(=O)[O-]"])
def test_self_similarities_of_forms_with_bracket_atoms_read_from_text_where_parts_are_known_to_read_back(smiles):
    from llasmol.chem import self_similarities_of_text

    canonical = Chem.MolToSmiles(Chem.MolFromSmiles(smiles), kekuleSmiles=True)
    parts_read = {part: Chem.MolFromSmiles(part) is not None for part in canonical.split(".")}
    from_text = self_similarities_of_text(canonical, parts_read)
    if "[" in canonical:
        assert self_similarities_of_text(canonical) is None  # not known to read back
        assert self_similarities_of_text(canonical, dict.fromkeys(parts_read, False)) is None
    keep_hydrogens = Chem.SmilesParserParams()
    keep_hydrogens.removeHs = False
    atoms = list(Chem.MolFromSmiles(canonical, keep_hydrogens).GetAtoms())
    has_key_atom = any(atom.GetSymbol() in ("N", "O") or atom.IsInRing() for atom in atoms)
    has_hydrogen_atom = any(atom.GetAtomicNum() == 1 for atom in atoms)
    assert (from_text is not None) == (has_key_atom and not has_hydrogen_atom)
    if from_text is not None:
        assert from_text == reference_similarities(canonical, canonical)


def _canonical_forms_of_validation_smiles(folder, count) -> set[str]:
    from llasmol.chem import canonicalize_smiles

    texts = [text for name in ("forward_synthesis", "retrosynthesis", "molecule_generation", "name_conversion-i2s")
             for record in _records(folder, name, count) for text in (record.input, record.output)]
    return {form for form in map(canonicalize_smiles, texts) if form}


def test_canonical_parts_read_back_and_their_self_similarities_from_text(smolinstruct_val):
    from llasmol.chem import reads_back, self_similarities, self_similarities_of_text

    forms = _canonical_forms_of_validation_smiles(smolinstruct_val, 500)
    parts = {part for form in forms for part in form.split(".")}
    said_to_read_back = [part for part in parts if reads_back(part)]
    assert len(said_to_read_back) > 1000 and len(parts) - len(said_to_read_back) > 200
    assert all(Chem.MolFromSmiles(part) is not None for part in said_to_read_back)
    assert not any(reads_back(part) for part in parts if "[" in part)
    assert not reads_back("c1ccccc1")  # aromatic text is not a canonical (Kekulé) part: parse it
    from_text = {form: self_similarities_of_text(form) for form in forms}
    settled = [form for form, found in from_text.items() if found is not None]
    assert len(settled) > len(forms) // 2
    assert all(from_text[form] == self_similarities(Chem.MolFromSmiles(form)) for form in settled)
    # Forms with bracket atoms, once their parts are known to read back.
    parts_read = {part: Chem.MolFromSmiles(part) is not None for part in parts if not reads_back(part)}
    with_brackets = {form: self_similarities_of_text(form, parts_read) for form in forms if "[" in form}
    settled = [form for form, found in with_brackets.items() if found is not None]
    assert len(settled) > 200
    assert all(with_brackets[form] == self_similarities(Chem.MolFromSmiles(form)) for form in settled)


def test_exact_answers_with_bracket_atoms_score_as_the_reference_mostly_unparsed(smolinstruct_val, monkeypatch):
    from llasmol.chem import canonicalize_smiles
    from llasmol.evaluate import molecules

    raw = [record for record in _records(smolinstruct_val, "molecule_generation", 1000) if "[" in record.output][:40]
    assert len(raw) == 40
    records = [PredictionRecord.of(r.input, r.output, [r.output]) for r in raw]
    parsed: list[Chem.Mol] = []  # forms parsed to fingerprint them
    fingerprint_itself = molecules.self_similarities
    monkeypatch.setattr(molecules, "self_similarities", lambda mol: parsed.append(mol) or fingerprint_itself(mol))
    forget_remembered()
    metrics = score_task("MG", records)
    forms = [canonicalize_smiles(record.output) for record in raw]
    expected = [reference_similarities(form, form) for form in forms]
    for index, key in enumerate(("t1_maccs_fps", "t1_rdk_fps", "t1_morgan_fps")):
        assert metrics[key] == pytest.approx(sum(values[index] for values in expected) / len(expected))
    assert len(parsed) < len(forms) // 4


def test_exact_answers_score_as_the_reference_with_and_without_other_answers(smolinstruct_val):
    """Golds met only in exact pairs take the short cut; the same gold beside a wrong answer does not."""

    raw = _records(smolinstruct_val, "molecule_generation", 3)
    answers = [[raw[0].output], [raw[1].output], [raw[0].output]]
    records = [PredictionRecord.of(r.input, r.output, a) for r, a in zip(raw, answers, strict=True)]
    forget_remembered()
    metrics = score_task("MG", records)
    expected = [reference_similarities(r.output, a[0]) for r, a in zip(raw, answers, strict=True)]
    for index, key in enumerate(("t1_maccs_fps", "t1_rdk_fps", "t1_morgan_fps")):
        assert metrics[key] == pytest.approx(sum(values[index] for values in expected) / 3)
    assert expected[0] == (1.0, 1.0, 1.0) and expected[2][2] < 1.0
