"""Write README.md from nbs/index.ipynb (Markdown through nbconvert); `--check` only says whether README.md is stale.

nbdev's own `nbdev-readme` needs Quarto, which cannot be installed offline, so this is our stand-in.
"""
import sys
from pathlib import Path
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parent.parent
HEADER = "<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n"


def render() -> str:
    body, _ = MarkdownExporter(exclude_output_prompt=True, exclude_input_prompt=True).from_filename(str(ROOT/'nbs'/'index.ipynb'))
    return HEADER + body.strip() + '\n'


def main():
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv[1:]:
        if not readme.exists() or readme.read_text() != text:
            sys.exit("README.md is stale: run `.venv/bin/python tools/make_readme.py` and commit it")
        print("README.md is up to date")
    else:
        readme.write_text(text)
        print(f"wrote {readme}")


if __name__ == '__main__': main()
