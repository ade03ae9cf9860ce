# Sphinx configuration of the course website, built by tools/build_site.sh from the copy of nbs/ that
# tools/site/prepare.py writes (the notebooks are rendered with their kept outputs, never executed).

project = 'accel_sgd'
author = 'accel_sgd developers'
copyright = 'accel_sgd developers, Apache-2.0'
root_doc = 'index'
extensions = ['myst_nb', 'sphinx.ext.mathjax']
exclude_patterns = ['_build', 'jupyter_execute', '**.ipynb_checkpoints']

# Notebooks: shown as they are kept, outputs included; Markdown outputs (the questionnaires' answers, with
# their <details>) go through MyST too, so that `$...$` in an answer is typeset.
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'
myst_enable_extensions = ['dollarmath', 'amsmath']
nb_merge_streams = True

# API pages (written by tools/site/api_pages.py): signatures without the full module path.
add_module_names = False

# MathJax 3 is served from the site's own _static/mathjax (copied there by tools/build_site.sh), never a CDN.
mathjax_path = 'mathjax/tex-mml-chtml.js'
html_static_path = ['_static']
html_css_files = ['custom.css']   # tools/site/custom.css: the folded answers

html_theme = 'sphinx_book_theme'
html_title = 'accel_sgd: fit_one_cycle with Adam from scratch'
html_theme_options = {
    'repository_url': 'https://github.com/accel-sgd/accel_sgd',   # plain links, nothing is loaded from there
    'path_to_docs': 'nbs',
    'use_repository_button': True,
    'use_download_button': False,   # the sources here are the prepared copies, not the notebooks
    'show_toc_level': 2,
    'navigation_with_keys': False,
}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
