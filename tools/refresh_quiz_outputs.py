"""Re-run only the questionnaire section of chapters (the cells from `## Questionnaire` to the end) and keep their outputs.

The section is self-contained (it loads the questions from `accel_sgd.questions`), so after editing a companion notebook
in nbs/questions/ this refreshes what the chapter shows without re-running its training. Usage:
    .venv/bin/python tools/refresh_quiz_outputs.py nbs/06_lr_find.ipynb [...]
"""
import sys
import nbformat
from nbclient import NotebookClient


def refresh(path: str):
    nb = nbformat.read(path, as_version=4)
    start = next((i for i, c in enumerate(nb.cells) if c.cell_type == 'markdown' and c.source.lstrip().startswith('## Questionnaire')), None)
    if start is None: sys.exit(f"{path}: no '## Questionnaire' heading")
    part = nbformat.v4.new_notebook(cells=[c.copy() for c in nb.cells[start:]], metadata=nb.metadata)
    NotebookClient(part, timeout=600, kernel_name='python3').execute()
    for old, new in zip(nb.cells[start:], part.cells):
        if old.cell_type == 'code': old.outputs, old.execution_count = new.outputs, None
    nbformat.write(nb, path)
    print(f"{path}: refreshed {sum(c.cell_type == 'code' for c in part.cells)} questionnaire cells")


if __name__ == '__main__':
    for p in sys.argv[1:]: refresh(p)
