"""The course's questionnaires as a reader and an installed package meet them: every question shown and none answered in
a chapter's source, the book's questions all asked, checks that accept right answers in other styles and refuse answers
right for one input only, and checks that cannot hang or leave torch's global state changed."""
import itertools, json, math, re, subprocess, sys, threading, time
import numpy as np
import pytest
import torch
from conftest import ROOT
from accel_sgd import quiz as Q

QNS = Q.questionnaires()
CHAPTERS = sorted(p for p in (ROOT/'nbs').glob('[0-9]*.ipynb') if not p.name.startswith('00'))   # every chapter after the tools
QUESTIONS = [(title, q) for title, qn in QNS.items() for q in qn]
CODE = [(t, q) for t, q in QUESTIONS if q.check is not None and callable(q.reference)]
NUMBER = [(t, q) for t, q in QUESTIONS if q.check is not None and isinstance(q.reference, (int, float))]
ids = lambda items: [q.key for _, q in items]


def _section(nb_path):
    "The cells of a chapter from its `## Questionnaire` heading on."
    cells = json.loads(nb_path.read_text())['cells']
    start = max(i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and ''.join(c['source']).lstrip().startswith('## Questionnaire'))
    return cells, cells[start:]


def _chapter_questionnaire(nb_path):
    _, section = _section(nb_path)
    src = '\n'.join(''.join(c['source']) for c in section)
    names = re.findall(r"questionnaire\('([^']+)'\)", src)
    assert len(names) == 1, f"{nb_path.name}: the questionnaire section should load its questions with one questionnaire('...') call"
    return Q.questionnaire(names[0])


def test_every_chapter_has_a_questionnaire():
    "One questionnaire per chapter, in chapter order, each loaded by its chapter (chapters 1 to 8 today, with 2b)."
    assert [t.split(':')[0] for t in QNS][:10] == [f'Chapter {n}' for n in ('1', '2', '2b', '3', '4', '5a', '5b', '6', '7', '8')]
    assert [t.split(':')[0] for t in QNS][-2:] == ['Chapter 12', 'Chapter 12b']   # the capstone and its command, the last chapters
    assert [_chapter_questionnaire(nb).title for nb in CHAPTERS] == list(QNS)


@pytest.mark.parametrize('nb', CHAPTERS, ids=lambda p: p.stem)
def test_chapter_shows_every_question_and_no_answer(nb):
    qn = _chapter_questionnaire(nb)
    cells, section = _section(nb)
    source = '\n'.join(''.join(c['source']) for c in cells)
    section_src = '\n'.join(''.join(c['source']) for c in section)
    assert '.add(' not in section_src and 'Questionnaire(' not in section_src, "questions are added in the companion notebook, not in the chapter"
    for q in qn:   # no answer in the chapter's source; near the questions, not even a line of a code answer
        assert q.answer[:60] not in source, f"{nb.name}: the answer to {q.key!r} is in the chapter's source"
        lines = [l.strip() for block in re.findall(r'```python\n(.*?)```', q.answer, re.S) for l in block.split('\n') if len(l.strip()) > 20]
        leaked = [l for l in lines if l in section_src]
        assert not leaked, f"{nb.name}: a line of the answer to {q.key!r} is in the questionnaire section: {leaked[0]!r}"
    shown = ''.join(''.join(o.get('data', {}).get('text/markdown', '')) for c in section for o in c.get('outputs', []))
    missing = [q.key for q in qn if f"**{q.key}**" not in shown]
    assert not missing, f"{nb.name}: questions not shown in the saved output (re-run the questionnaire section): {missing}"
    assert shown.count('<details>') == len(qn), f"{nb.name}: every question's answer should be folded in <details>"


def test_questions_have_every_field_and_unique_keys():
    for _, q in QUESTIONS:
        for field in ('key', 'text', 'answer', 'check', 'reference', 'wrong', 'also_right', 'hardcoded', 'source', 'optional'):
            assert hasattr(q, field), f"{q.key} has no {field}"
        assert q.text and q.answer
    keys = [q.key for _, q in QUESTIONS]
    assert len(keys) == len(set(keys)), f"keys used twice: {sorted(k for k in keys if keys.count(k) > 1)}"


def test_the_books_questions_are_all_asked():
    sources = [q.source for _, q in QUESTIONS if q.source]
    asked = sorted(int(s.split('Q')[1]) for s in sources if re.fullmatch(r'fastbook 16 Q\d+', s))
    assert asked == [n for n in range(1, 28) if n not in (2, 17)], asked
    research = sorted(s for s in sources if 'further research' in s)
    assert research == [f'fastbook 16 further research {n}' for n in range(1, 5)]
    assert all(q.optional for _, q in QUESTIONS if q.source and 'further research' in q.source)
    table = Q.book_map()
    for n in range(1, 28): assert f"| fastbook 16 Q{n} |" in table
    assert 'not asked' in table.split('| fastbook 16 Q2 |')[1].split('\n')[0]


@pytest.mark.parametrize('qn', list(QNS.values()), ids=list(QNS))
def test_self_test(qn):
    assert 'every check passes' in qn.self_test()


@pytest.mark.parametrize('title,q', CODE, ids=ids(CODE))
def test_code_checks_take_other_styles_and_refuse_hard_coded_answers(title, q):
    assert len(q.also_right) >= 2, f"{q.key}: needs at least two right answers in other styles"
    assert q.hardcoded, f"{q.key}: needs at least one answer that is right for one input only"
    for a in (q.reference, *q.also_right):
        res = Q.run_check(q.key, q.check, a)
        assert res.ok, f"{q.key}: the right answer {getattr(a, '__name__', a)} fails: {res.message}"
    for a in q.hardcoded + q.wrong:
        res = Q.run_check(q.key, q.check, a)
        assert res.ok is False and res.message, f"{q.key}: the wrong answer {getattr(a, '__name__', a)} passes"


@pytest.mark.parametrize('title,q', NUMBER, ids=ids(NUMBER))
def test_number_checks_take_any_real_type_and_refuse_complex(title, q):
    for a in (np.float64(q.reference), torch.tensor(q.reference, dtype=torch.float64), np.array([q.reference])):
        assert Q.run_check(q.key, q.check, a).ok, f"{q.key}: {type(a).__name__} refused"
    res = Q.run_check(q.key, q.check, complex(q.reference, 1))
    assert res.ok is False and 'complex' in res.message


def test_the_issues_right_answers_pass():
    "Answers the old checks refused: in place without .data (the Optimizer runs callbacks under no_grad), the chapter's own average, numpy scalars, rounded numbers."
    Q.questionnaire('optimizer')
    def sgd_cb(p, lr, **kwargs): p += -lr * p.grad
    def avg(p, mom, grad_avg=None, **kwargs):
        if grad_avg is None: grad_avg = torch.zeros_like(p)
        return {'grad_avg': grad_avg.mul_(mom).add_(p.grad)}
    def rms(p, lr, sqr_mom, eps, sqr_avg=None, **kwargs):
        sqr_avg = torch.zeros_like(p) if sqr_avg is None else sqr_avg
        sqr_avg.mul_(sqr_mom).addcmul_(p.grad, p.grad, value=1 - sqr_mom)
        p.addcdiv_(p.grad, sqr_avg.sqrt() + eps, value=-lr)
        return {'sqr_avg': sqr_avg}
    for key, answer in (('sgd_cb_plus_equals', sgd_cb), ('momentum', avg), ('rmsprop', rms)): assert Q.check(key, answer).ok, key
    Q.questionnaire('sgd_loop')
    for key, answer in (('steps_per_epoch', np.int64(469)), ('chance_loss', np.float32(1.39)), ('chance_loss', 1.39)):
        assert Q.check(key, answer).ok, (key, answer)
    assert Q.check('running_var', 1.13).ok


def test_the_issues_hard_coded_answers_fail():
    def fixed_update(p, lr): p.data -= 0.1 * p.grad
    def fixed_avg(p, mom, grad_avg=None, **kwargs): return {'grad_avg': (0 if grad_avg is None else grad_avg) * 0.9 + p.grad}
    def fixed_adam(p, lr, mom, sqr_mom, eps, step, grad_avg, sqr_avg, **kwargs):
        p -= lr * (grad_avg / (1 - 0.9 ** 3)) / ((sqr_avg / (1 - 0.99 ** 3)).sqrt() + eps)
    def bn_no_eps(x, eps): return (x - x.mean(0)) / x.std(0, unbiased=False)
    for key, answer in (('sgd_update', fixed_update), ('momentum', fixed_avg), ('adam_step', fixed_adam), ('bn_forward', bn_no_eps)):
        assert Q.check(key, answer).ok is False, key


def _spin(*args):
    while True: pass


def test_a_hanging_answer_is_stopped():
    start = time.monotonic()
    res = Q.check('sgd_update', _spin, time_limit_s=1)
    assert res.ok is False and 'stopped after 1 s' in res.message
    assert time.monotonic() - start < 10


def test_a_hanging_answer_is_stopped_outside_the_main_thread():
    out = []
    t = threading.Thread(target=lambda: out.append(Q.check('bn_forward', _spin, time_limit_s=1)), daemon=True)
    t.start(); t.join(15)
    assert not t.is_alive() and out[0].ok is False and 'stopped' in out[0].message


def test_an_endless_iterator_is_refused():
    res = Q.check('slice_lrs', itertools.count())
    assert res.ok is False and 'got more' in res.message


def test_complex_results_are_refused():
    def bn_complex(x, eps): return ((x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps)).to(torch.complex64)
    res = Q.check('bn_forward', bn_complex)
    assert res.ok is False and 'complex' in res.message
    assert Q.check('lr_at_half', complex(0.075, 0)).ok is False


def test_global_state_is_restored():
    def meddling(p, lr):
        torch.set_grad_enabled(False); torch.set_default_dtype(torch.float64); torch.autograd.set_detect_anomaly(True)
        torch.manual_seed(0)
        p.data -= lr * p.grad
    torch.manual_seed(7); expected = torch.rand(3)
    torch.manual_seed(7)
    res = Q.check('sgd_update', meddling)
    assert res.ok and 'gradient mode' in res.message and 'default dtype' in res.message
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32 and not torch.is_anomaly_enabled()
    assert torch.equal(torch.rand(3), expected), "the check moved the global random generator"


def test_written_answers_can_be_marked_and_progress_reaches_100():
    qn = Q.questionnaire('schedule')
    for q in qn:
        if q.optional: continue
        res = qn.check(q.key, 'my answer' if q.check is None else q.reference)
        assert res.ok, (q.key, res.message)
    n, total = qn.answered()
    assert n == total and '(100 %)' in qn.progress()
    assert qn.check('one_cycle_why', '').ok is None


def test_rerunning_never_raises():
    qn = Q.questionnaire('hooks')
    assert Q.questionnaire('hooks') is qn
    q = qn['dead_relu']
    qn.add(q.key, q.text, q.answer)
    assert len(qn) == len(Q.questionnaire('hooks'))


def test_questionnaires_load_in_a_fresh_interpreter():
    code = ("import accel_sgd.quiz as q; qs = q.questionnaires(); "
            "print(len(qs), sum(len(x) for x in qs.values()), q.questionnaire('transfer').title)")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT/'tests', timeout=300)
    assert res.returncode == 0, res.stderr
    n, n_q, title = res.stdout.split(' ', 2)
    assert int(n) == len(QNS) and int(n_q) == len(QUESTIONS) and title.strip() == 'Chapter 7: transfer learning'


def test_the_package_ships_the_questions_and_the_test_run_counts_them():
    import tomllib
    from setuptools import find_packages
    include = tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['setuptools']['packages']['find']['include']
    assert 'accel_sgd.questions' in find_packages(str(ROOT), include=include)
    sys.path.insert(0, str(ROOT/'tools'))
    try: import run_tests
    finally: sys.path.pop(0)
    names = {str(p.relative_to(ROOT/'nbs')) for p in run_tests.notebooks()}
    import pkgutil, accel_sgd.questions
    modules = [m.name for m in pkgutil.iter_modules(accel_sgd.questions.__path__)]   # ch01_sgd_loop <- questions/01_sgd_loop.ipynb
    assert len(modules) == len(QNS) and {f'questions/{m[2:]}.ipynb' for m in modules} <= names


MESSAGES = [   # (module, key, wrong answer, what its verdict must say)
    ('ch01_sgd_loop', 'sgd_update', '_rebinds', 'was not changed'),
    ('ch01_sgd_loop', 'sgd_update', '_without_no_grad', 'torch.no_grad()'),
    ('ch01_sgd_loop', 'train_step', '_no_zero', 'zero_grad'),
    ('ch02_optimizer', 'sgd_cb_plus_equals', '_sgd_cb_rebinds', 'did not move'),
    ('ch02_optimizer', 'momentum', '_avg_aliases_grad', 'keeps `p.grad` itself'),
    ('ch03_learner', 'terminate_on_nan', '_TerminateAfterStep', 'stepped with the'),
    ('ch02_optimizer', 'momentum', '_avg_no_return', "must return {'grad_avg'"),
    ('ch02_optimizer', 'momentum', '_avg_fixed', 'mom='),
    ('ch02_optimizer', 'adam_step', '_adam_changes_avg', 'changed `grad_avg` in place'),
    ('ch02b_fast', 'sqr_avg_foreach', '_sqr_twin_no_return', "must return {'sqr_avg'"),
    ('ch02b_fast', 'sqr_avg_foreach', '_sqr_twin_fixed', 'sqr_mom='),
    ('ch03_learner', 'model_resetter', '_ResetBookStyle', 'not reset after the fit'),
    ('ch03_learner', 'model_resetter', '_ResetTrainOnly', 'validation phase'),
    ('ch03_learner', 'model_resetter', '_ResetEveryBatch', 'reset between batches'),
    ('ch03_learner', 'terminate_on_nan', '_TerminateBook', "the book's version checks in `after_batch`"),
    ('ch03_learner', 'terminate_on_nan', '_TerminateBookExact', "the book's version checks in `after_batch`"),   # run_before = Recorder is accepted
    ('ch03_learner', 'terminate_on_nan', '_TerminateEpoch', 'went on for'),
    ('ch03_learner', 'terminate_on_nan', '_TerminateNanOnly', 'isfinite'),
    ('ch03_learner', 'terminate_on_nan', '_TerminateNanOnly', 'did not stop the fit at the infinite loss'),
    ('ch05b_batchnorm', 'bn_forward', '_bn_in_place', 'changed `x` in place'),
    ('ch05b_batchnorm', 'bn_forward', '_bn_eps_fixed', 'eps='),
    ('ch08_optimizers_beyond', 'radam_rect', '_rect_bound_4', 'rho_t <= 5'),
    ('ch08_optimizers_beyond', 'radam_rect', '_rect_fixed', 'sqr_mom='),
    ('ch08_optimizers_beyond', 'lion_step', '_lion_in_place', 'changed `grad_avg` in place'),
    ('ch08_optimizers_beyond', 'lion_step', '_lion_fixed', 'step_mom='),
    ('ch08_optimizers_beyond', 'orthogonalise', '_orth_chapter_ns', 'off by up to'),
]


@pytest.mark.parametrize('module,key,answer,says', MESSAGES, ids=[f"{k}-{a}" for _, k, a, _ in MESSAGES])
def test_verdicts_speak_the_readers_terms(module, key, answer, says):
    import importlib
    m = importlib.import_module(f'accel_sgd.questions.{module}')
    res = m.quiz.check(key, getattr(m, answer))
    assert res.ok is False and says in res.message, res.message


def test_a_check_leaves_no_alarm_behind():
    import signal
    handler = signal.getsignal(signal.SIGALRM)
    Q.check('bn_forward', _spin, time_limit_s=0.5)
    Q.check('cos_at', lambda start, end, pos: start, time_limit_s=5)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0) and signal.getsignal(signal.SIGALRM) is handler


def _distinctive(x, decimals):
    "How a number answer would be printed at the question's precision, if that is distinctive enough to search a chapter for."
    if isinstance(x, bool): return None
    if isinstance(x, int) or float(x).is_integer(): return str(int(x)) if abs(x) >= 100 else None
    s = f"{float(x):.{decimals if decimals is not None else 3}f}"
    return s if len(s.replace('-', '').replace('.', '').lstrip('0')) >= 3 else None


@pytest.mark.parametrize('nb', CHAPTERS, ids=lambda p: p.stem)
def test_chapter_does_not_print_a_number_answer(nb):
    "A number question asks for something the reader computes: the chapter above it must not print the answer itself."
    qn = _chapter_questionnaire(nb)
    cells, section = _section(nb)
    above = cells[:len(cells) - len(section)]
    text = '\n'.join(''.join(c['source']) + ''.join(''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/plain', ''))
                                                   for o in c.get('outputs', [])) for c in above)
    for q in qn:
        if q.check is None or callable(q.reference) or q.optional: continue
        refs = q.reference if isinstance(q.reference, (list, tuple)) else [q.reference]
        decimals = getattr(q.check, 'decimals', None)
        for r in refs:
            s = _distinctive(r, decimals)
            assert s is None or not re.search(rf"(?<![\d.]){re.escape(s)}(?!\d)", text), \
                f"{nb.name}: the chapter prints {s}, the answer to {q.key!r}: ask about another case"
