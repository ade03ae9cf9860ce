"""The course website (tools/build_site.sh), built fresh into a temporary folder, served on 127.0.0.1 and opened
in headless Chromium (Playwright driving Debian's `chromium`): every chapter page loads with its figures and
typeset math, every questionnaire answer is collapsed and opens on click, search finds a chapter by a word in
it, and no request leaves 127.0.0.1. Screenshots and per-page findings go to site_screenshots/ (git ignores it).

Skipped, with the reason, only where no Chromium is installed: tools/setup.sh installs Debian's `chromium`
when it runs as root or with password-less sudo; ACCEL_SGD_CHROMIUM may name another Chromium binary.
"""
import html as htmllib, json, os, re, shutil, socket, subprocess, sys, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT/'site_screenshots'
CHAPTERS = sorted(p.stem for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_') and p.stem != 'index')
# a word from one chapter's text -> the page that search must list
SEARCHES = {'RMSProp': '02_optimizer.html', 'BatchNorm': '05b_batchnorm.html', 'freeze': '07_transfer.html'}


def chromium_path():
    for c in (os.environ.get('ACCEL_SGD_CHROMIUM'), shutil.which('chromium'), shutil.which('chromium-browser')):
        if c and Path(c).exists(): return c
    return None


def say(request, msg):
    "Print past pytest's capture, so that the paths and timings show in a normal run."
    cm = request.config.pluginmanager.getplugin('capturemanager')
    with cm.global_and_fixture_disabled(): print(msg, flush=True)


@pytest.fixture(scope='module')
def site(tmp_path_factory, request):
    "A fresh build of the website, in a temporary folder (the checkout's site/ is left alone)."
    tmp = tmp_path_factory.mktemp('site')
    env = dict(os.environ, SITE_BUILD_DIR=str(tmp/'src'), PYTHON=sys.executable)
    t = time.time()
    proc = subprocess.run(['bash', 'tools/build_site.sh', str(tmp/'site')], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, f'tools/build_site.sh failed:\n{proc.stdout}\n{proc.stderr}'
    assert not (ROOT/'jupyter_execute').exists(), 'the build left jupyter_execute/ in the checkout'
    say(request, f'\ntest_site: built in {time.time()-t:.1f} s: {proc.stdout.strip().splitlines()[-1]}')
    return tmp/'site'


def kept_figures(name):
    "How many image outputs the notebook keeps in cells the site shows (not `#| hide`)."
    nb = json.loads((ROOT/'nbs'/f'{name}.ipynb').read_text())
    return sum(any(k.startswith('image/') for k in o.get('data', {}))
               for c in nb['cells'] if c['cell_type'] == 'code' and not re.match(r'\s*#\|\s*hide\b', ''.join(c['source']))
               for o in c.get('outputs', []))


def kept_answers(name):
    "How many collapsed answers (<details>) the notebook's shown outputs hold."
    nb = json.loads((ROOT/'nbs'/f'{name}.ipynb').read_text())
    def shown(o): d = o.get('data', {}); return ''.join(d.get('text/markdown') or d.get('text/html') or '')
    return sum(shown(o).count('<details') for c in nb['cells'] if c['cell_type'] == 'code'
               and not re.match(r'\s*#\|\s*hide\b', ''.join(c['source'])) for o in c.get('outputs', []))


def hidden_lines(name):
    "Code lines that only `#| hide` cells of the notebook hold (so the page must not show them)."
    nb = json.loads((ROOT/'nbs'/f'{name}.ipynb').read_text())
    hidden, shown = set(), set()
    for c in nb['cells']:
        src = ''.join(c['source'])
        lines = {l.strip() for l in src.splitlines() if len(l.strip()) >= 10 and not l.strip().startswith('#|')}
        (hidden if c['cell_type'] == 'code' and re.match(r'\s*#\|\s*hide\b', src) else shown).update(lines)
    return hidden - shown


def code_text(page_html):
    "The text of the page's code blocks, as a reader sees it."
    pres = re.findall(r'<pre[^>]*>(.*?)</pre>', page_html, re.S)
    return htmllib.unescape(re.sub(r'<[^>]+>', '', '\n'.join(pres)))


class Resources(HTMLParser):
    "The URLs a page loads by itself: script src, link href (styles, fonts, icons), img/source/iframe src."
    def __init__(self):
        super().__init__(); self.urls = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'link' and a.get('href') and a.get('rel') not in ('canonical',): self.urls.append(a['href'])
        if tag in ('script', 'img', 'source', 'iframe', 'audio', 'video', 'embed') and a.get('src'): self.urls.append(a['src'])
        if tag == 'object' and a.get('data'): self.urls.append(a['data'])


def test_site_pages_and_offline_resources(site):
    "One page per chapter named after its notebook, the API pages, and no script, style, font or image from another host."
    for name in ['index', *CHAPTERS, 'search']: assert (site/f'{name}.html').exists(), f'{name}.html missing'
    api = {p.stem: p.read_text() for p in (site/'api').glob('*.html')}
    assert len(api) >= len(CHAPTERS) - 1, f'API pages: {sorted(api)}'
    for mod, html in api.items(): assert '<dl class="py ' in html, f'api/{mod}.html documents no name'
    assert 'id="accel_sgd.learner.Learner"' in api['learner'] and 'Trains <code' in api['learner'], \
        'api/learner.html lacks the Learner class with its docstring'
    assert (site/'_static/mathjax/tex-mml-chtml.js').exists()
    external = {}
    for page in site.rglob('*.html'):
        p = Resources(); p.feed(page.read_text())
        bad = [u for u in p.urls if re.match(r'(https?:)?//', u)]
        if bad: external[str(page.relative_to(site))] = bad
    for css in site.rglob('*.css'):   # fonts and images that a style sheet loads
        bad = re.findall(r'url\(\s*["\']?((?:https?:)?//[^"\')]+)', css.read_text(errors='replace'))
        if bad: external[str(css.relative_to(site))] = bad
    assert not external, f'pages load resources from other hosts: {external}'
    index = (site/'index.html').read_text()
    for name in CHAPTERS: assert f'href="{name}.html"' in index, f'the home page does not link to {name}.html'
    assert 'href="nbs/' not in index, 'the home page still links to nbs/X.ipynb'
    for name in CHAPTERS:
        code = code_text((site/f'{name}.html').read_text())
        assert not re.search(r'#\|\s*(hide|export|default_exp|slow)\b', code), f'{name}.html shows an nbdev directive in its code'
        leaked = [l for l in hidden_lines(name) if l in code]
        assert not leaked, f'{name}.html shows code of `#| hide` cells: {leaked[:3]}'


@pytest.fixture(scope='module')
def server(site):
    "python -m http.server on a free port of 127.0.0.1, ended after the tests."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, '-m', 'http.server', str(port), '--bind', '127.0.0.1', '-d', str(site)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try: socket.create_connection(('127.0.0.1', port), timeout=0.2).close(); break
        except OSError: time.sleep(0.1)
    yield f'http://127.0.0.1:{port}'
    proc.terminate(); proc.wait(10)


@pytest.fixture(scope='module')
def browser(server, request):
    exe = chromium_path()
    if exe is None:
        pytest.skip('no Chromium here (tools/setup.sh installs Debian\'s `chromium` as root or with sudo; '
                    'or set ACCEL_SGD_CHROMIUM): the browser checks of the website did not run')
    try: from playwright.sync_api import sync_playwright
    except ImportError: pytest.fail("Playwright is missing: install the docs extra, `.venv/bin/pip install -e '.[docs]'`")
    SHOTS.mkdir(exist_ok=True)
    (SHOTS/'findings.txt').write_text('')
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True)
        ctx = b.new_context(viewport={'width': 1280, 'height': 900})
        seen, outside = [], []
        def route(r):   # record every request, and stop any that would leave this machine
            seen.append(r.request.url)
            if urlparse(r.request.url).hostname == '127.0.0.1': r.continue_()
            else: outside.append(r.request.url); r.abort()
        ctx.route('**/*', route)
        ctx.seen, ctx.outside = seen, outside
        yield ctx
        ctx.close(); b.close()
    say(request, f'\ntest_site: screenshots and per-page findings in {SHOTS}/')


def note(line):
    with open(SHOTS/'findings.txt', 'a') as f: f.write(line + '\n')
    print(line)


def open_page(browser, url):
    page = browser.new_page()
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    failed = []
    page.on('requestfailed', lambda r: failed.append(r.url))
    resp = page.goto(url, wait_until='load')
    assert resp is not None and resp.ok, f'{url} answered {resp and resp.status}'
    return page, errors, failed


def wait_for_math(page):
    "Wait until MathJax has typeset every math element; return (elements, typeset, errors)."
    js = """() => { const m = [...document.querySelectorAll('.math')];
        return [m.length, m.filter(e => e.querySelector('mjx-container')).length,
                document.querySelectorAll('mjx-merror').length] }"""
    for _ in range(100):
        n, done, errs = page.evaluate(js)
        if done == n: break
        page.wait_for_timeout(100)
    return n, done, errs


@pytest.mark.parametrize('name', CHAPTERS)
def test_chapter_page(browser, server, name):
    "The chapter loads; its figures load; its math is typeset; its answers are collapsed and open on click."
    page, errors, failed = open_page(browser, f'{server}/{name}.html')
    assert page.locator('main h1').count() >= 1, f'{name}.html has no title'
    imgs = page.evaluate("""() => [...document.querySelectorAll('main img')].map(i => [i.src, i.complete && i.naturalWidth > 0])""")
    broken = [src for src, ok in imgs if not ok]
    assert not broken, f'{name}.html: figures that did not load: {broken}'
    assert len(imgs) >= kept_figures(name), f'{name}.html shows {len(imgs)} figures, its notebook keeps {kept_figures(name)}'
    n, done, merr = wait_for_math(page)
    assert done == n, f'{name}.html: MathJax typeset {done} of {n} math elements'
    assert merr == 0, f'{name}.html: {merr} TeX errors'
    answers = page.locator('main .cell_output details')   # (myst-nb's folded code cells are <details> too)
    k = answers.count()
    assert k >= kept_answers(name), f'{name}.html shows {k} answers, its notebook keeps {kept_answers(name)}'
    assert page.locator('main details[open]').count() == 0, f'{name}.html: something is shown unfolded'
    for i in range(k):
        d = answers.nth(i)
        assert not d.locator(':scope > :not(summary)').first.is_visible(), f'{name}.html: answer {i} is visible before a click'
        d.locator('summary').first.click()
        assert d.evaluate('e => e.open'), f'{name}.html: answer {i} did not open on click'
        assert d.locator(':scope > :not(summary)').first.is_visible(), f'{name}.html: answer {i} opened empty'
        if i == 0 and name == '01_sgd_loop':   # for a person: the first answer open, the next ones folded
            d.evaluate("e => { e.scrollIntoView({block: 'start'}); window.scrollBy(0, -160) }")
            page.screenshot(path=str(SHOTS/f'{name}-answer-open.png'))
    assert not errors, f'{name}.html: JavaScript errors {errors}'
    assert not failed, f'{name}.html: requests that failed {failed}'
    note(f'{name}.html: loads; {len(imgs)} figures loaded (notebook keeps {kept_figures(name)}); '
         f'{done}/{n} math elements typeset; {k} answers collapsed (notebook keeps {kept_answers(name)}), each opened on click')
    page.close()


def test_home_page_links_chapters(browser, server):
    "The home page lists every chapter, and following a link opens that chapter."
    page, errors, _ = open_page(browser, f'{server}/index.html')
    page.screenshot(path=str(SHOTS/'index.png'), full_page=False)
    hrefs = page.evaluate("() => [...document.querySelectorAll('main a')].map(a => a.getAttribute('href'))")
    for name in CHAPTERS: assert f'{name}.html' in hrefs, f'the home page does not link to {name}.html'
    page.locator(f'main a[href="{CHAPTERS[2]}.html"]').first.click()
    page.wait_for_load_state('load')
    assert page.url.endswith(f'/{CHAPTERS[2]}.html')
    assert not errors
    note(f'index.html: loads; links to all {len(CHAPTERS)} chapters; a click opens {CHAPTERS[2]}.html')
    page.close()


@pytest.mark.parametrize('word,target', SEARCHES.items())
def test_search_finds_chapter(browser, server, word, target):
    page, errors, _ = open_page(browser, f'{server}/search.html?q={word}')
    page.wait_for_selector('#search-results ul.search li', timeout=15000)
    # Sphinx shows the results one by one (5 ms apart): read them once its summary says the search finished
    page.wait_for_function("() => /Search finished/.test(document.querySelector('.search-summary')?.textContent || '')", timeout=15000)
    hits = page.evaluate("() => [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.getAttribute('href'))")
    assert any(h.split('?')[0].split('#')[0].endswith(target) for h in hits), f'search for {word!r} lists {hits}, not {target}'
    assert not errors
    note(f'search.html?q={word}: {len(hits)} results, {target} among them')
    page.close()


def test_no_request_left_127_0_0_1(browser, server):
    "Runs last in this file: every request the pages above made went to the site's own server."
    page, _, _ = open_page(browser, f'{server}/api/learner.html')
    assert page.locator('dl.py.class').count() >= 1, 'the Learner API page lists no class'
    n, done, _ = wait_for_math(page)
    assert done == n, f'api/learner.html: MathJax typeset {done} of {n}'
    page.close()
    assert len(browser.seen) > 100, f'only {len(browser.seen)} requests recorded: is the recorder working?'
    assert browser.outside == [], f'requests to other hosts (blocked): {browser.outside}'
    note(f'no request left 127.0.0.1: {len(browser.seen)} requests recorded, all to the site\'s own server')
