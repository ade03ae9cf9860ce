#!/usr/bin/env bash
# Build the course website into site/ from nbs/, offline, in a few seconds:
#   1. tools/site/prepare.py writes a copy of the notebooks for the web into build/site_src/ (hidden cells
#      dropped, nbdev directives stripped, index links pointing at the chapter pages, one API page per module);
#   2. MathJax 3.2.2 (npm's `mathjax` package, fetched once with `npm pack` into build/mathjax/) is copied
#      into the site's _static/mathjax, so that no page loads anything from another host;
#   3. Sphinx with myst-nb and sphinx-book-theme renders it without executing any notebook.
# Needs the `docs` extra (`.venv/bin/pip install -e '.[docs]'`; tools/setup.sh installs it) and npm the
# first time. Open site/index.html, or serve it: `.venv/bin/python -m http.server -d site 8000`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
OUT=${1:-site}
BUILD=${SITE_BUILD_DIR:-build/site_src}
MJ_VERSION=3.2.2
MJ=build/mathjax/$MJ_VERSION

if ! "$PY" -c 'import sphinx, myst_nb, sphinx_book_theme' 2>/dev/null; then
  echo "build_site: Sphinx, myst-nb or sphinx-book-theme is missing from $PY; run: $PY -m pip install -e '.[docs]'" >&2
  exit 1
fi

if [ ! -f "$MJ/es5/tex-mml-chtml.js" ]; then
  command -v npm >/dev/null || { echo "build_site: npm is needed once to fetch MathJax $MJ_VERSION (apt-get install npm)" >&2; exit 1; }
  mkdir -p "$MJ"
  tgz=$(cd "$MJ" && npm pack --silent "mathjax@$MJ_VERSION")
  tar -xzf "$MJ/$tgz" -C "$MJ" --strip-components=1 package/es5 package/LICENSE
  rm "$MJ/$tgz"
fi

OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$PY" tools/site/prepare.py "$BUILD"   # imports accel_sgd for the API pages
# only what the pages use: the combined TeX+MathML->CHTML component, its fonts, and the TeX extensions it may autoload
static=$BUILD/_static/mathjax
mkdir -p "$static/output/chtml/fonts" "$static/input/tex"
cp "$MJ/es5/tex-mml-chtml.js" "$MJ/LICENSE" "$static/"
cp -r "$MJ/es5/output/chtml/fonts/woff-v2" "$static/output/chtml/fonts/"
cp -r "$MJ/es5/input/tex/extensions" "$static/input/tex/"
cp tools/site/conf.py "$BUILD/conf.py"
cp tools/site/custom.css "$BUILD/_static/"

# Sphinx writes into $BUILD.html (myst-nb puts its jupyter_execute/ beside it, out of the checkout), then moves it
rm -rf "$BUILD.html" "$OUT"
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
  "$PY" -m sphinx -b html -E -q -j 1 "$BUILD" "$BUILD.html" -d "$BUILD.doctrees"
mkdir -p "$(dirname "$OUT")"
mv "$BUILD.html" "$OUT"
touch "$OUT/.nojekyll"   # GitHub Pages: serve _static/ as it is
echo "build_site: $(find "$OUT" -name '*.html' | wc -l) pages, $(du -sh "$OUT" | cut -f1) in $OUT/; open $OUT/index.html"
