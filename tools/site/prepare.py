"""Prepare the notebooks for the course website: read nbs/, write a Sphinx source tree (never touching nbs/).

    python tools/site/prepare.py OUT_DIR

In the copy, each notebook is what a reader should see on the web:
- cells flagged `#| hide` are dropped, and the nbdev/Quarto directives (`#| export`, `#| slow`, ...) are
  stripped from the code that is shown; a cell left empty (`#| default_exp x` alone) is dropped;
  `#| echo: false` hides a cell's code and `#| output: false` its outputs, as in nbdev's Quarto sites;
- a cell whose source spells out the answers that its output keeps collapsed (a questionnaire written inline)
  shows its source collapsed too (myst-nb's `hide-input`), so that the page does not give the answers away
  (not in 00b_quiz, whose demo questions show how to write one);
- index.ipynb's links to `nbs/X.ipynb` (right on GitHub) point to the chapter pages, its module names link to
  the API pages, and a hidden table of contents lists the chapters and the API for the sidebar;
- one MyST page per exported module holds its API (signatures and docstrings, tools/site/api_pages.py).
Kept outputs (figures, tables, the questionnaires' <details>) are copied as they are; nothing is executed.
"""
import json, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NBS = ROOT/'nbs'
DIRECTIVE = re.compile(r'^\s*#\|\s*(.*?)\s*$')


def chapters():
    "The notebooks that become pages, in course order (nbdev skips files starting with `_`)."
    return sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_') and p.name != 'index.ipynb')


def split_directives(src):
    "(directives, rest): the leading `#| ...` lines of a code cell, parsed, and the source without them."
    lines, dirs = src.splitlines(), {}
    i = 0
    while i < len(lines) and (DIRECTIVE.match(lines[i]) or not lines[i].strip()):
        m = DIRECTIVE.match(lines[i])
        if m:
            body = m.group(1)
            if re.match(r'^[\w-]+:', body): key, _, val = body.partition(':')   # Quarto style: `#| echo: false`
            else: key, _, val = body.partition(' ')                           # nbdev style: `#| default_exp data`
            if key: dirs[key.strip().lower()] = val.strip()
        i += 1
    return dirs, '\n'.join(lines[i:])


def prepare_cell(cell, teaches_quiz=False):
    "The cell as the site shows it, or None to drop it."
    if cell['cell_type'] != 'code': return cell
    dirs, src = split_directives(''.join(cell['source']))
    if 'hide' in dirs or dirs.get('include') == 'false': return None
    if not src.strip() and not cell.get('outputs'): return None
    cell = dict(cell, source=src, metadata=dict(cell.get('metadata', {})))
    tags = list(cell['metadata'].get('tags', []))
    if dirs.get('echo') == 'false' or not src.strip(): tags.append('remove-input')
    if dirs.get('output') == 'false': tags.append('remove-output')
    if not teaches_quiz and spells_answers(cell): tags.append('hide-input')
    if tags: cell['metadata']['tags'] = tags
    return cell


def output_text(out):
    "What an output shows as Markdown or HTML (the questionnaires' answers are in there, in <details>)."
    d = out.get('data', {})
    return ''.join(d.get('text/markdown') or d.get('text/html') or '')


def spells_answers(cell):
    "Whether a cell's source holds the reference answers that its output keeps collapsed (a quiz written inline)."
    answers = ' '.join(re.findall(r'<details>.*?</summary>(.*?)</details>', ''.join(map(output_text, cell.get('outputs', []))), re.S))
    words = re.findall(r'[A-Za-z]{4,}', answers)[:40]
    return bool(words) and sum(w in cell['source'] for w in words) > 0.8 * len(words)


def module_of(nb):
    "The module a notebook exports to (`#| default_exp data` -> 'data'), or None."
    for c in nb['cells']:
        if c['cell_type'] == 'code':
            dirs, _ = split_directives(''.join(c['source']))
            if 'default_exp' in dirs: return dirs['default_exp']
    return None


def fix_index_links(src, modules):
    "index.ipynb's GitHub links to nbs/X.ipynb become links to the chapter pages; module names link to the API."
    src = re.sub(r'\]\(nbs/([\w.-]+\.ipynb)\)', r'](\1)', src)
    for mod in modules:
        src = src.replace(f'| `accel_sgd.{mod}` |', f'| [`accel_sgd.{mod}`](api/{mod}.md) |')
    return src


def main(out):
    out = Path(out)
    if out.exists(): shutil.rmtree(out)
    (out/'api').mkdir(parents=True)
    modules = []
    for path in chapters():
        nb = json.loads(path.read_text())
        mod = module_of(nb)
        if mod: modules.append((mod, path.stem))
        quiz_chapter = mod == 'quiz'   # its demo questions teach how to write one: their code stays shown
        nb['cells'] = [c for c in (prepare_cell(c, quiz_chapter) for c in nb['cells']) if c is not None]
        (out/path.name).write_text(json.dumps(nb, indent=1))
    index = json.loads((NBS/'index.ipynb').read_text())
    for c in index['cells']:
        if c['cell_type'] == 'markdown': c['source'] = fix_index_links(''.join(c['source']), [m for m, _ in modules])
    index['cells'] = [c for c in map(prepare_cell, index['cells']) if c is not None]
    toc = ['```{toctree}', ':hidden:', ':caption: Chapters', '', *[p.stem for p in chapters()], '```', '',
           '```{toctree}', ':hidden:', ':caption: API', '', *[f'api/{m}' for m, _ in modules], '```']
    index['cells'].append({'cell_type': 'markdown', 'id': 'site-toc', 'metadata': {}, 'source': '\n'.join(toc)})
    (out/'index.ipynb').write_text(json.dumps(index, indent=1))
    sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(Path(__file__).parent))
    from api_pages import page
    for mod, stem in modules: (out/'api'/f'{mod}.md').write_text(page(mod, stem))
    print(f'prepare: {len(chapters())} chapters, index and {len(modules)} API pages in {out}')


if __name__ == '__main__': main(sys.argv[1])
