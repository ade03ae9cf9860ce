"The notebooks are the source: the exported library, the cleaned notebooks and README.md must match them."
import filecmp, subprocess, sys
from conftest import BIN, ROOT


def _differences(a, b):
    cmp = filecmp.dircmp(a, b, ignore=['__pycache__', '.ipynb_checkpoints'])
    out = [f"{a.name}/{n}" for n in cmp.left_only + cmp.right_only + cmp.diff_files]
    # dircmp compares with os.stat first; compare contents to be sure
    out += [f"{a.name}/{n}" for n in cmp.same_files if (a/n).read_bytes() != (b/n).read_bytes()]
    for n in cmp.common_dirs: out += [f"{a.name}/{d}" for d in _differences(a/n, b/n)]   # nbs/questions/, accel_sgd/questions/
    return out


def test_export_is_in_step(tree_copy):
    subprocess.run([str(BIN/'nbdev-export')], cwd=tree_copy, check=True)
    diff = _differences(ROOT/'accel_sgd', tree_copy/'accel_sgd')
    assert not diff, f"nbdev-export changes {diff}: run nbdev-export and commit accel_sgd/"
    assert (ROOT/'pyproject.toml').read_text() == (tree_copy/'pyproject.toml').read_text(), "nbdev-export rewrites pyproject.toml"


def test_notebooks_are_clean(tree_copy):
    subprocess.run([str(BIN/'nbdev-clean')], cwd=tree_copy, check=True)
    diff = _differences(ROOT/'nbs', tree_copy/'nbs')
    assert not diff, f"nbdev-clean changes {diff}: run nbdev-clean and commit the notebooks"


def test_readme_is_fresh():
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'make_readme.py'), '--check'], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_slow_cells_keep_their_outputs():
    "Cells flagged `#| slow` are skipped by the test run, so the notebook must carry the output of a real run."
    import json
    missing = []
    for nb in sorted((ROOT/'nbs').rglob('*.ipynb')):   # nbs/questions/ too
        for i, cell in enumerate(json.loads(nb.read_text())['cells']):
            src = ''.join(cell['source'])
            if cell['cell_type'] == 'code' and src.lstrip().startswith('#| slow') and not cell.get('outputs'):
                missing.append(f"{nb.relative_to(ROOT/'nbs')} cell {i}")
    assert not missing, f"slow cells without outputs (run the notebook and save it): {missing}"
