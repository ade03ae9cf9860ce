"Chapter 9's public surface: whole-set metrics against scikit-learn (edge cases included), dict batches and outputs, GatherPreds in the Recorder, BestWorst finding flipped labels, SaveBest and EarlyStopping."
import math, warnings
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import accel_sgd  # noqa: F401  (every chapter's methods on Learner)
from accel_sgd.learner import Callback, Learner, accuracy
from accel_sgd.metrics import (BestWorst, EarlyStopping, GatherPreds, Keyed, MissingKeyError, SaveBest, WeightedLoss, average_precision,
                               confusion_matrix, macro_f1, named, pr_curve, precision_recall_f1, top_k_accuracy)

skm = pytest.importorskip('sklearn.metrics')


def edge_cases(seed, n=400, c=7):
    "Scores with ties, a class never predicted (5), a class never a target (2)."
    g = torch.Generator().manual_seed(seed)
    scores = (torch.randn(n, c, generator=g).softmax(-1) * 5).round() / 5
    scores[:, 5] -= 2
    targs = torch.randint(0, c, (n,), generator=g); targs[targs == 2] = 0
    return scores, targs


@pytest.mark.parametrize('seed', range(8))
def test_against_sklearn(seed):
    s, t = edge_cases(seed); c = s.shape[1]; lab = s.argmax(1)
    assert (lab == 5).sum() == 0 and (t == 2).sum() == 0
    assert (confusion_matrix(s, t, c).numpy() == skm.confusion_matrix(t, lab, labels=range(c))).all()
    assert (confusion_matrix(lab, t, c) == confusion_matrix(s, t, c)).all()   # classes or scores
    ours = precision_recall_f1(s, t)
    ref = skm.precision_recall_fscore_support(t, lab, labels=range(c), zero_division=0)[:3]
    for o, r in zip(ours, ref): assert (o - torch.from_numpy(r)).abs().max() < 1e-12
    for k in (1, 2, 4, c - 1):   # scikit-learn breaks ties towards the higher index: reversing the classes makes it ours
        assert abs(float(top_k_accuracy(s, t, k)) - skm.top_k_accuracy_score(c - 1 - t, s.flip(1), k=k, labels=range(c))) < 1e-12
    assert float(top_k_accuracy(s, t, 1)) == skm.accuracy_score(t, lab)
    for cls in range(c):
        if cls == 2: continue
        p, r, thr = pr_curve(s[:, cls], t == cls)
        sp, sr, sthr = skm.precision_recall_curve(t == cls, s[:, cls])
        assert abs(p.numpy()[::-1] - sp[:-1]).max() < 1e-12 and abs(r.numpy()[::-1] - sr[:-1]).max() < 1e-12
        assert abs(thr.numpy()[::-1] - sthr).max() == 0
        assert abs(float(average_precision(s[:, cls], t == cls)) - skm.average_precision_score(t == cls, s[:, cls])) < 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert float(average_precision(s[:, 2], t == 2)) == skm.average_precision_score(t == 2, s[:, 2]) == 0


def test_ties_sklearn_top_k_differs_from_its_accuracy():
    "Why the test above reverses the classes: on tied scores scikit-learn's top-1 is not its argmax accuracy; ours is."
    s = torch.tensor([[0.4, 0.4, 0.2], [0.4, 0.4, 0.2]]); t = torch.tensor([0, 0])
    assert float(top_k_accuracy(s, t, 1)) == skm.accuracy_score(t, s.argmax(1)) == 1.
    assert skm.top_k_accuracy_score(t, s, k=1, labels=[0, 1, 2]) == 0.


def test_bad_inputs_say_what_is_wrong():
    with pytest.raises(ValueError, match=r'must lie in 0\.\.2 \(n_classes=3\), got 0\.\.3'): confusion_matrix(torch.tensor([0, 1]), torch.tensor([3, 0]), 3)
    with pytest.raises(ValueError, match='2 predictions but 3 targets'): confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 1, 1]), 3)
    with pytest.raises(ValueError, match='pass n_classes'): precision_recall_f1(torch.tensor([0, 1]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='k must be between 1 and the number of classes, 3, got 0'):
        top_k_accuracy(torch.rand(4, 3), torch.zeros(4, dtype=torch.long), 0)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU())
        self.cls, self.rec = nn.Linear(8, 3), nn.Linear(8, 16)
    def forward(self, x):
        e = self.body(x)
        return {'logits': self.cls(e), 'recon': self.rec(e).view_as(x)}


def dict_dls(sizes=(10, 10, 10), valid=(7, 5)):
    g = torch.Generator().manual_seed(0)
    def batch(n):
        y = torch.randint(0, 3, (n,), generator=g)
        return {'image': torch.randn(n, 1, 4, 4, generator=g) + y[:, None, None, None], 'label': y}
    return type('DLs', (), {'train': [batch(n) for n in sizes], 'valid': [batch(n) for n in valid]})()


def test_dict_batches_and_outputs_train_with_weighted_losses():
    dls = dict_dls()
    loss = WeightedLoss(ce=(Keyed(F.cross_entropy, 'logits', 'label'), 1.), rec=(Keyed(F.mse_loss, 'recon', 'image'), 0.3))
    torch.manual_seed(0)
    learn = Learner(TwoHeads(), dls, loss, lr=1e-2, target_key=None, progress=False, device='cpu',
                    metrics=[Keyed(accuracy, 'logits', 'label')], cbs=[GatherPreds([macro_f1], 'logits', 'label')])
    learn.fit(2)
    assert learn.recorder.metric_names == ['epoch', 'train_loss', 'valid_loss', 'accuracy', 'macro_f1', 'time']
    learn.model.eval()
    with torch.no_grad():   # the valid loss is the mean over the 12 samples, not over the 2 batches (of 7 and 5)
        want = sum(float(loss(learn.model(b['image']), b)) * len(b['label']) for b in dls.valid) / 12
        preds = torch.cat([learn.model(b['image'])['logits'] for b in dls.valid])
    assert math.isclose(learn.recorder.values[-1].valid_loss, want, rel_tol=1e-5)
    targs = torch.cat([b['label'] for b in dls.valid])
    assert math.isclose(learn.recorder.values[-1].macro_f1, skm.f1_score(targs, preds.argmax(1), average='macro', labels=range(3), zero_division=0), rel_tol=1e-9)
    assert set(loss.parts) == {'ce', 'rec'} and not loss.parts['ce'].requires_grad
    assert learn.metrics == [learn.metrics[0]] and isinstance(learn.metrics[0], Keyed)   # GatherPreds's columns leave with the fit


def test_missing_keys_name_the_key_the_place_and_the_keys_there():
    dls = dict_dls()
    learn = Learner(TwoHeads(), dls, Keyed(F.cross_entropy, 'logit', 'label'), target_key=None, progress=False, device='cpu')
    with pytest.raises(MissingKeyError, match=r"cross_entropy looked for key 'logit' in the model's output \(learn\.pred\), which has keys \['logits', 'recon'\]"):
        learn.fit(1)
    learn = Learner(TwoHeads(), dls, Keyed(F.cross_entropy, 'logits', 'lbl'), target_key=None, progress=False, device='cpu')
    with pytest.raises(KeyError, match=r"looked for key 'lbl' in the targets \(learn\.yb\), which has keys \['image', 'label'\]"): learn.fit(1)
    learn = Learner(TwoHeads(), dls, F.cross_entropy, input_key='img', progress=False, device='cpu')
    with pytest.raises(KeyError, match=r"the batch dict has keys \['image', 'label'\] but not \['img'\]"): learn.fit(1)
    learn = Learner(TwoHeads(), dls, Keyed(F.cross_entropy, 'logits'), progress=False, device='cpu', cbs=[BestWorst(pred_key='logit')])
    with pytest.raises(KeyError, match=r"BestWorst looked for key 'logit'"): learn.fit(1)


def test_tuples_keep_working():
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(n, 4, generator=g), torch.randint(0, 3, (n,), generator=g)) for n in (8, 8, 3)]
    dls = type('DLs', (), {'train': batches, 'valid': batches})()
    learn = Learner(nn.Linear(4, 3), dls, F.cross_entropy, metrics=[accuracy], progress=False, device='cpu',
                    cbs=[GatherPreds([named('top_2', top_k_accuracy, k=2)]), BestWorst(k=2)])
    learn.fit(1)
    assert learn.gather_preds.preds.shape == (19, 3) and learn.best_worst.worst['x'].shape == (2, 4)
    assert learn.recorder.values[-1].top_2 >= learn.recorder.values[-1].accuracy


def scripted_learner(values, *cbs):
    it = iter(values)
    def score(preds, targs): return next(it)
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g))]
    dls = type('DLs', (), {'train': batches, 'valid': batches})()
    torch.manual_seed(0)
    return Learner(nn.Linear(4, 3), dls, F.cross_entropy, lr=0.1, progress=False, device='cpu', cbs=[GatherPreds([score]), *cbs])


@pytest.mark.parametrize('mode,best', [('max', 3), ('min', 1)])
def test_save_best_keeps_and_restores_the_best_epoch(mode, best, tmp_path):
    weights = []
    class Snap(Callback):
        order = 60
        def after_epoch(self): weights.append(self.model.weight.detach().clone())
    learn = scripted_learner([0.5, 0.2, 0.6, 0.9, float('nan')], SaveBest('score', mode, fname=tmp_path / 'b.pt'), Snap())
    learn.fit(5)
    assert learn.save_best.best_epoch == best
    assert torch.equal(learn.model.weight, weights[best]) and torch.equal(torch.load(tmp_path / 'b.pt')['weight'], weights[best])
    assert not torch.equal(weights[best], weights[-1])


def test_early_stopping_and_bad_arguments():
    learn = scripted_learner([0.5, 0.4, 0.45, 0.41, 0.3], EarlyStopping('score', 'min', patience=2))
    learn.fit(5)
    assert learn.early_stopping.stopped_epoch == 3 and len(learn.recorder.values) == 4
    learn = scripted_learner([0.5, 0.4], SaveBest('acc'))
    with pytest.raises(ValueError, match=r"SaveBest monitors 'acc', which is not a column of the Recorder: those are \['train_loss', 'valid_loss', 'score'\]"):
        learn.fit(1)
    with pytest.raises(ValueError, match="mode must be 'min'"): EarlyStopping('score', 'down')


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_flipped_labels_surface_among_the_worst(seed):
    "20 of 2,000 validation labels flipped: after 2 epochs on clean data, more than half of them are among the 40 worst (13 to 17 over seeds 0-11)."
    from accel_sgd.batchnorm import BatchNorm
    from accel_sgd.data import get_dls
    from accel_sgd.hooks import simple_cnn
    dls = get_dls(bs=128, subset=2000, device='cpu', valid_bs=500, seed=seed)
    g = torch.Generator().manual_seed(seed)
    y = dls.valid.dataset.y
    idx = torch.randperm(len(y), generator=g)[:20]
    y[idx] = (y[idx] + torch.randint(1, 10, (20,), generator=g)) % 10
    torch.manual_seed(seed)
    learn = Learner(simple_cnn(BatchNorm), dls, F.cross_entropy, lr=1e-2, cbs=[BestWorst(k=40)], progress=False)
    learn.fit_one_cycle(2)
    assert len(set(idx.tolist()) & set(learn.best_worst.worst['idx'].tolist())) >= 11
    figs = learn.best_worst.figures()
    assert sorted(figs) == ['best_samples', 'worst_samples'] and len(figs['worst_samples'].axes) == 40


def test_figures_render_outside_pyplot():
    "The figures() protocol: figures made outside pyplot, which a TensorBoard writer renders with the Agg canvas as torch does."
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 1, 6, 6, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(2)]
    dls = type('DLs', (), {'train': batches, 'valid': batches, 'classes': ['a', 'b', 'c']})()
    learn = Learner(nn.Sequential(nn.Flatten(), nn.Linear(36, 3)), dls, F.cross_entropy, progress=False, device='cpu',
                    cbs=[GatherPreds(), BestWorst(k=3)])
    learn.fit(1)
    n_pyplot = len(plt.get_fignums())
    figs = {**learn.gather_preds.figures(), **learn.best_worst.figures()}
    assert sorted(figs) == ['best_samples', 'confidence', 'confusion_matrix', 'pr_curves', 'worst_samples']
    for fig in figs.values():
        canvas = FigureCanvasAgg(fig); canvas.draw()
        w, h = canvas.get_width_height()
        assert np_shape(canvas) == (h, w, 4) and w > 100 and h > 100
    assert len(plt.get_fignums()) == n_pyplot   # nothing left open in pyplot
    ax = figs['confusion_matrix'].axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel(), [t.get_text() for t in ax.get_yticklabels()]) == ('predicted', 'actual', ['a', 'b', 'c'])


def np_shape(canvas): return tuple(memoryview(canvas.buffer_rgba()).shape)


def test_gather_preds_refuses_a_tuple_output():
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g))]
    dls = type('DLs', (), {'train': batches, 'valid': batches})()
    class Pair(nn.Linear):
        def forward(self, x): return super().forward(x), x
    learn = Learner(Pair(4, 3), dls, lambda p, y: F.cross_entropy(p[0], y), progress=False, device='cpu', cbs=[GatherPreds()])
    with pytest.raises(TypeError, match=r"GatherPreds needs a tensor from the model's output \(learn.pred\), got a tuple"): learn.fit(1)


def test_whole_set_metrics_and_figures_reach_tensorboard(tmp_path):
    "With chapter 9c's TensorBoardCallback: the whole-set metrics as epoch scalars, GatherPreds's and BestWorst's figures as images."
    pytest.importorskip('tensorboard')
    from accel_sgd.tensorboard import TensorBoardCallback, load_events
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 1, 6, 6, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(2)]
    dls = type('DLs', (), {'train': batches, 'valid': batches})()
    learn = Learner(nn.Sequential(nn.Flatten(), nn.Linear(36, 3)), dls, F.cross_entropy, progress=False, device='cpu',
                    cbs=[GatherPreds([macro_f1]), BestWorst(k=3), TensorBoardCallback(log_dir=tmp_path, hist_every=0)])
    learn.fit(2)
    ea = load_events(learn.tensor_board.run_dir)
    f1s = [(e.step, e.value) for e in ea.Scalars('epoch/macro_f1')]
    assert [s for s, _ in f1s] == [0, 1] and math.isclose(f1s[-1][1], learn.recorder.values[-1].macro_f1, rel_tol=1e-6)
    images = ea.Tags()['images']
    assert {'gather_preds/confusion_matrix', 'gather_preds/pr_curves', 'gather_preds/confidence',
            'best_worst/best_samples', 'best_worst/worst_samples'} <= set(images)
    assert len(ea.Images('best_worst/worst_samples')) == 2   # one per epoch


def test_metrics_refuse_what_they_cannot_read():
    "Probabilities passed as classes, NaN scores, fractional targets, a fractional k and empty curves are refused, not read wrongly."
    import torch
    from accel_sgd.metrics import confusion_matrix, top_k_accuracy, whole_accuracy, pr_curve
    p, y = torch.tensor([0.9, 0.2, 0.8]), torch.tensor([1, 0, 1])
    for f in (lambda: confusion_matrix(p, y, 2), lambda: whole_accuracy(p, y)):
        with pytest.raises(ValueError, match='probabilities or scores'): f()
    nan = torch.full((4, 3), float('nan'))
    with pytest.raises(ValueError, match='NaN'): top_k_accuracy(nan, torch.tensor([0, 1, 2, 0]), 1)
    with pytest.raises(ValueError, match='class numbers'): confusion_matrix(torch.tensor([1, 0]), torch.tensor([1.5, 0.]), 2)
    with pytest.raises(ValueError, match='k must be'): top_k_accuracy(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]), 1.5)
    with pytest.raises(ValueError, match='at least one score'): pr_curve(torch.tensor([]), torch.tensor([], dtype=torch.bool))
    assert confusion_matrix(torch.tensor([1., 0.]), torch.tensor([1, 0]), 2).trace() == 2   # whole-number floats are classes
