"""One MyST page per exported module of accel_sgd: each public name's signature and docstring.

The docstrings are Markdown (with `$...$` math), as nbdev writes them, so the pages are written in MyST with
Sphinx's Python-domain directives (`py:function`, `py:class`, ...) around each docstring, rather than through
sphinx.ext.autodoc, which would read them as reStructuredText. Methods that a later chapter adds to a class
with fastcore's `@patch` are listed on the page of the module that adds them.
"""
import importlib, inspect, re


def fence(n): return '`' * n


def sig(obj):
    "The signature as the source writes it (annotations are strings under `from __future__ import annotations`)."
    try: s = str(inspect.signature(obj))
    except (TypeError, ValueError): return '' if inspect.isclass(obj) else '(...)'
    s = re.sub(r"(: |-> )'([^']*)'", r'\1\2', s)
    s = re.sub(r'<(?:function|class) ([\w.]+)(?: at 0x[0-9a-f]+)?>', r'\1', s)
    return re.sub(r'^\(self(?:: [\w.]+)?(?:, |(?=\)))', '(', s)


def doc(obj):
    return inspect.cleandoc(obj.__doc__ or '') if obj.__doc__ and obj.__doc__ is not getattr(type, '__doc__') else ''


def short_repr(obj, n=120):
    r = repr(obj).replace('`', "'")
    return r if len(r) <= n else r[:n] + ' ...'


def entry(kind, name, obj, mod, depth=3, body_extra=''):
    "A py-domain directive for one object, its docstring as MyST content."
    f = fence(depth + 1)
    head = f'{f}{{py:{kind}}} {name}{sig(obj) if kind in ("function", "method", "class", "exception") else ""}'
    d = doc(obj) if kind != 'data' else f'`{name} = {short_repr(obj)}`'
    return '\n'.join([head, f':module: accel_sgd.{mod}', '', d, body_extra, f, ''])


def members(cls, mod):
    "The public methods and properties the class defines in module `mod` (itself, or by @patch)."
    out = []
    for k, v in cls.__dict__.items():
        if k.startswith('_'): continue
        f = v.fget if isinstance(v, property) else getattr(v, '__func__', v)
        if not callable(f) and not isinstance(v, property): continue
        if getattr(f, '__module__', None) != f'accel_sgd.{mod}': continue
        out.append((k, v, f))
    return out


def class_entry(name, cls, mod):
    inner = []
    for k, v, f in members(cls, mod):
        kind = 'property' if isinstance(v, property) else 'staticmethod' if isinstance(v, staticmethod) else \
               'classmethod' if isinstance(v, classmethod) else 'method'
        body = doc(f)
        head = f'{fence(3)}{{py:{kind}}} {k}' + ('' if kind == 'property' else sig(f))
        inner.append('\n'.join([head, body, fence(3), '']))
    kind = 'exception' if issubclass(cls, BaseException) else 'class'
    return entry(kind, name, cls, mod, depth=4, body_extra='\n' + '\n'.join(inner))


def page(mod, stem):
    m = importlib.import_module(f'accel_sgd.{mod}')
    parts = [f'# `accel_sgd.{mod}`', '',
             f'The public names of chapter [{stem}](../{stem}.ipynb), with their signatures and docstrings.', '']
    if m.__doc__: parts += [inspect.cleandoc(m.__doc__).split('\nDocs:')[0], '']
    for name in getattr(m, '__all__', []):
        obj = getattr(m, name, None)
        if inspect.isclass(obj): parts.append(class_entry(name, obj, mod))
        elif callable(obj): parts.append(entry('function', name, obj, mod))
        else: parts.append(entry('data', name, obj, mod))
    patched = []   # methods this module adds to classes of earlier modules
    import accel_sgd
    for other in dir(accel_sgd):
        om = getattr(accel_sgd, other)
        if not inspect.ismodule(om) or om is m: continue
        for cname in getattr(om, '__all__', []):
            cls = getattr(om, cname, None)
            if not inspect.isclass(cls) or cls.__module__ != om.__name__: continue
            for k, v, f in members(cls, mod):
                patched.append('\n'.join([f'{fence(3)}{{py:method}} {cname}.{k}{sig(f)}',
                                          f':module: accel_sgd.{mod}', '', doc(f), fence(3), '']))
    if patched: parts += ['## Methods added to earlier classes', '', *patched]
    return '\n'.join(parts)
