"Each trap of issues 11 and 12 that the Learner (chapter 3) and the schedules (chapter 4) now refuse or handle: every test here fails on the code before the fix."
import gc, math, warnings, weakref
import torch
from torch import nn
from fastcore import test as ft   # not imported by name: pytest would collect test_eq as a test
import accel_sgd.schedule as S
from accel_sgd.learner import Callback, CancelFitException, Learner, SynthDataLoaders, sort_callbacks, synth_learner

class A(Callback): pass

def test_run_before_single_class():
    class B(Callback): run_before = A
    ft.test_eq([type(c).__name__ for c in sort_callbacks([A(), B()])], ['B', 'A'])

def test_run_after_single_name():
    class B(Callback): run_after = 'a_long_name'
    class ALongName(Callback): pass
    ft.test_eq([type(c).__name__ for c in sort_callbacks([B(), ALongName()])], ['ALongName', 'B'])

def test_create_opt_refuses_left_out_param(): ft.test_fail(synth_learner(splitter=lambda m: [[m.weight]]).fit, args=[1], contains='leave out')

def test_create_opt_refuses_duplicate(): ft.test_fail(synth_learner(splitter=lambda m: [[m.weight, m.bias], [m.weight]]).fit, args=[1], contains='more than once')

def test_recorder_lrs_per_group():
    l = synth_learner(splitter=lambda m: [[m.weight], [m.bias]]); l.fit(1, lr=[0.01, 0.1]); ft.test_eq(l.recorder.lrs[0], [0.01, 0.1])

def test_values_labelled():
    l = synth_learner(); l.fit(1); v = l.recorder.values[-1]; ft.test_eq(v.valid_loss, v[2])

def test_loss_class_refused(): ft.test_fail(lambda: Learner(nn.Linear(1, 1), SynthDataLoaders(), nn.MSELoss), contains='MSELoss()')

def test_iterabledataset_dataloader_fits_with_progress():
    class St(torch.utils.data.IterableDataset):
        def __iter__(self): return iter(SynthDataLoaders(n_train=4).train)
    l = synth_learner(progress=True); l.dls.train = torch.utils.data.DataLoader(St(), batch_size=None); l.fit(2)
    ft.test_eq(len(l.recorder.losses), 8)

def test_fit_one_cycle_without_len_refused():
    class NoLen:
        def __init__(self, b): self.b = b
        def __iter__(self): return iter(self.b)
    l = synth_learner(); l.dls.train = NoLen(l.dls.train); ft.test_fail(l.fit_one_cycle, args=[1], contains='steps_per_epoch')

def test_generator_dls_train_refused():
    l = synth_learner(); l.dls.train = (b for b in l.dls.train); ft.test_fail(l.fit, args=[2], contains='iterator')

def test_fit_lr_inf_with_existing_opt_refused():
    l = synth_learner(); l.fit(1); ft.test_fail(l.fit, args=[1], kwargs=dict(lr=math.inf))

def test_fit_one_cycle_lr_max_inf_refused(): ft.test_fail(synth_learner().fit_one_cycle, args=[1], kwargs=dict(lr_max=math.inf))

def test_negative_scheduled_lr_refused(): ft.test_fail(synth_learner(n_train=10).fit, args=[1], kwargs=dict(cbs=[S.ParamScheduler({'lr': S.sched_lin(0.1, -1.)})]), contains='lr=-')

def test_moms_outside_0_1_refused(): ft.test_fail(synth_learner().fit_one_cycle, args=[1], kwargs=dict(moms=(1.5, 1.2, 1.5)), contains='moms')

def test_nan_schedule_refused(): ft.test_fail(synth_learner().fit, args=[1], kwargs=dict(cbs=[S.ParamScheduler({'lr': lambda p: math.nan})]), contains='nan')

def test_new_model_new_optimizer():
    l = synth_learner(); l.fit(1); l.model = nn.Linear(1, 1); l.fit(1)
    ft.test_eq({id(p) for p in l.opt.param_groups[0]['params']}, {id(p) for p in l.model.parameters()})

def test_layer_replaced_in_place_detected():
    l = synth_learner(); l.model = nn.Sequential(nn.Linear(1, 1)); l.fit(1); l.model[0] = nn.Linear(1, 1)
    ft.test_fail(l.fit, args=[1], contains='create_opt')

def test_user_recorder_refused():
    def mk():
        class Recorder(Callback): pass
        return Recorder()
    ft.test_fail(lambda: synth_learner(cbs=[mk()]), contains="'recorder'")

def test_keras_style_method_warns():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        class K(Callback):
            def on_epoch_end(self): pass
        synth_learner(cbs=[K()]); assert any('after_epoch' in str(x.message) for x in w)

def test_instance_level_event_warns():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        cb = A(); cb.after_epoch = lambda: None; assert any('instance' in str(x.message) for x in w)

def test_every_after_fit_runs():
    done = []
    class F(Callback):
        order = -50
        def after_fit(self): raise RuntimeError('x')
    class G(Callback):
        def after_fit(self): done.append(1)
    ft.test_fail(synth_learner(cbs=[F(), G()]).fit, args=[1], contains='x'); assert done

def test_remove_cb_mid_event():
    class R(Callback):
        order = 45
        def after_batch(self):
            if self.train_iter == 2 and hasattr(self.learn, 'recorder'): self.learn.remove_cb(self.learn.recorder)
    synth_learner(cbs=[R()]).fit(1)

def test_graph_released_after_early_stop():
    class Saver(nn.Module):
        def __init__(self): super().__init__(); self.lin = nn.Linear(1, 1)
        def forward(self, x): h = self.lin(x).sigmoid(); self.ref = weakref.ref(h); return h
    class Stop(Callback):
        def after_loss(self): raise CancelFitException()
    l = synth_learner(cbs=[Stop()]); l.model = Saver(); l.fit(1); gc.collect()
    assert l.model.ref() is None

def test_dls_valid_none_refused_before_training():
    l = synth_learner(); l.dls.valid = None; steps = []
    class C(Callback):
        def after_step(self): steps.append(1)
    ft.test_fail(l.fit, args=[1], kwargs=dict(cbs=[C()]), contains='dls.valid'); ft.test_eq(steps, [])

def test_rnn_regularizer_lets_go_of_activations():
    from accel_sgd.learner import RNNRegularizer
    class Triple(nn.Module):
        def __init__(self): super().__init__(); self.lin = nn.Linear(1, 1)
        def forward(self, x): h = self.lin(x).sigmoid(); self.ref = weakref.ref(h); return h, h, h
    class Stop(Callback):
        def after_loss(self): raise CancelFitException()
    l = synth_learner(cbs=[RNNRegularizer(alpha=1.), Stop()]); l.model = Triple(); l.fit(1); gc.collect()
    assert l.model.ref() is None


def test_misspelt_run_after_name_warns():
    "A run_after name that designates no callback but is close to one (a typo) is said, not silently ignored."
    import warnings
    from accel_sgd.learner import Callback, synth_learner
    class Typo(Callback):
        run_after = 'recordr'
        def after_batch(self): pass
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); synth_learner(cbs=[Typo()])
    assert any("did you mean 'recorder'" in str(x.message) or "did you mean 'Recorder'" in str(x.message) for x in w), [str(x.message) for x in w]


def test_numpy_integers_as_epochs():
    "numpy and torch integers count as integers, as numpy floats count as rates."
    import numpy as np, torch
    from accel_sgd.learner import synth_learner
    import accel_sgd.transfer
    l = synth_learner(); l.fit(np.int64(1)); l.fit_one_cycle(np.int64(1), 0.1); l.fit(torch.tensor(1).item())
    ft.test_eq(len(l.recorder.values), 1)
    ft.test_fail(lambda: l.fit(2.0), contains='positive integer')
