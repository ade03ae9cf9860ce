"""Run the whole test suite and print one closing line `N passed, N failed`.

Each notebook in nbs/ counts as one test and runs through `nbdev-test` (cells flagged `#| slow`
are skipped unless `--slow` is given); each pytest test in tests/ counts as one test.
"""
import argparse, re, subprocess, sys, tempfile, time
from pathlib import Path
import xml.etree.ElementTree as ET

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def notebooks():
    "The notebooks nbdev-test runs: nbs/ and its subfolders (such as nbs/questions/), skipping names that start with _ or ."
    return sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
                  if not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT/'nbs').parts))


def run_notebooks(slow):
    "Run `nbdev-test` on all notebooks; return (passed, failed) counts."
    nbs = notebooks()
    cmd = [str(BIN/'nbdev-test'), '--n-workers', '2', '--timing']
    if slow: cmd += ['--flags', 'slow']
    print('$', ' '.join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    sys.stdout.write(proc.stdout); sys.stderr.write(proc.stderr)
    if proc.returncode == 0: return len(nbs), 0
    # nbdev-test lists the failed notebooks, one per tab-indented line, after its "Failed" banner
    tail = proc.stderr.split('nbdev Tests Failed On The Following Notebooks:')
    failed = set(re.findall(r'^\t(\S+\.ipynb)$', tail[-1], re.M)) if len(tail) > 1 else set()
    if not failed: failed = {p.name for p in nbs}  # it crashed before testing: count all as failed
    return len(nbs) - len(failed), len(failed)


def run_pytest(extra):
    "Run pytest on tests/; return (passed, failed) counts read from its JUnit report."
    with tempfile.TemporaryDirectory() as d:
        xml = Path(d)/'junit.xml'
        cmd = [str(BIN/'python'), '-m', 'pytest', 'tests', '-q', '-p', 'no:cacheprovider', '--durations=8', f'--junitxml={xml}', *extra]
        print('$', ' '.join(cmd), flush=True)
        code = subprocess.run(cmd, cwd=ROOT).returncode
        if not xml.exists(): return 0, 1  # pytest could not even start: one failure
        suite = ET.parse(xml).getroot()
        suite = suite if suite.tag == 'testsuite' else suite.find('testsuite')
        n, f, e, s = (int(suite.get(k, 0)) for k in ('tests', 'failures', 'errors', 'skipped'))
        failed = f + e + (1 if code not in (0, 5) and f + e == 0 else 0)
        return n - f - e - s, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--slow', action='store_true', help='also run cells flagged `#| slow` (full training runs)')
    ap.add_argument('--no-notebooks', action='store_true', help='only run pytest')
    ap.add_argument('pytest_args', nargs='*', help='passed on to pytest')
    args = ap.parse_args()
    start = time.time()
    nb_pass, nb_fail = (0, 0) if args.no_notebooks else run_notebooks(args.slow)
    py_pass, py_fail = run_pytest(args.pytest_args)
    print(f'notebooks: {nb_pass} passed, {nb_fail} failed; pytest: {py_pass} passed, {py_fail} failed; '
          f'{time.time()-start:.0f} s')
    print(f'{nb_pass+py_pass} passed, {nb_fail+py_fail} failed')
    sys.exit(1 if nb_fail + py_fail else 0)


if __name__ == '__main__': main()
