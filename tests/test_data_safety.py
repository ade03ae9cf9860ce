"The data layer against a caller who writes into what it gets, odd-but-fair arguments, and odd files."
import gzip, struct, tracemalloc
import numpy as np
import pytest
import torch
from accel_sgd.data import FASHION_FILES, IDXError, find_fashion_mnist, get_dls, load_fashion_mnist, read_idx, write_idx

needs_data = pytest.mark.skipif(find_fashion_mnist() is None, reason="Fashion-MNIST is not installed here")


@pytest.fixture
def fake(tmp_path):
    "A tiny Fashion-MNIST: 30 training and 20 validation pictures, labels cycling through the ten classes."
    g = torch.Generator().manual_seed(0)
    for split, n in (('train', 30), ('valid', 20)):
        write_idx(tmp_path/FASHION_FILES[f'{split}_images'], torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8))
        write_idx(tmp_path/FASHION_FILES[f'{split}_labels'], (torch.arange(n) % 10).to(torch.uint8))
    return tmp_path


def test_callers_cannot_change_the_cache(fake):
    (xt, yt), (xv, yv) = load_fashion_mnist(fake)
    before = [t.clone() for t in (xt, yt, xv, yv)]
    yt[:10] = 0; xt += 1; yv.zero_(); xv[0] = 7
    assert all(torch.equal(a, b) for a, b in zip(before, [t for split in load_fashion_mnist(fake) for t in split]))
    dls = get_dls(bs=8, path=fake, device='cpu', normalize=False)
    dls.train.dataset.y[:] = 0; dls.valid.dataset.y[:] = 0        # the loaders' labels are theirs, not the cache's
    assert torch.equal(load_fashion_mnist(fake)[0][1], before[1])
    assert torch.equal(get_dls(bs=8, path=fake, device='cpu').valid.dataset.y, before[3])


@needs_data
def test_label_noise_does_not_poison_later_runs():
    "The issue's case on the real data: the label sum is 270,000 before and after a caller zeroes 100 labels."
    (_, yt), _ = load_fashion_mnist()
    assert int(yt.sum()) == 270000
    yt[:100] = 0
    assert int(load_fashion_mnist()[0][1].sum()) == 270000
    assert int(get_dls(device='cpu').train.dataset.y.sum()) == 270000


def test_numpy_and_torch_integers_are_whole_numbers(fake):
    dls = get_dls(bs=np.int64(4), subset=np.int32(10), valid_bs=torch.tensor(5), path=fake, device='cpu')
    assert (len(dls.train.dataset), len(dls.valid.dataset), len(dls.train), len(dls.valid)) == (10, 10, 3, 2)
    for bad in (10.0, True, np.float32(10), torch.tensor(10.)):
        with pytest.raises(ValueError, match='subset must be a positive integer'): get_dls(subset=bad, path=fake)


def test_valid_bs_zero_is_refused(fake):
    with pytest.raises(ValueError, match='valid_bs must be a positive integer'): get_dls(bs=8, valid_bs=0, path=fake)
    with pytest.raises(ValueError, match='valid_bs must be a positive integer'): get_dls(bs=8, valid_bs=-1, path=fake)
    assert len(get_dls(bs=8, path=fake, device='cpu').valid) == 3     # None still means "same as bs"


def test_partial_directory_names_the_missing_files(fake, monkeypatch):
    (fake/FASHION_FILES['valid_labels']).unlink(); (fake/FASHION_FILES['train_images']).unlink()
    for how in ('path', 'env'):
        if how == 'env': monkeypatch.setenv('ACCEL_SGD_DATA', str(fake))
        with pytest.raises(FileNotFoundError) as e: load_fashion_mnist(fake if how == 'path' else None, download=False)
        msg = str(e.value)
        assert 'train-images-idx3-ubyte' in msg and 't10k-labels-idx1-ubyte' in msg, msg
        assert msg.startswith('path=' if how == 'path' else 'ACCEL_SGD_DATA='), msg
        assert 'it has train-labels-idx1-ubyte, t10k-images-idx3-ubyte' in msg, msg


def test_gzip_bomb_is_not_decompressed_in_full(tmp_path):
    "A valid header for one 28x28 picture, then 64 MB of zeros (64 kB gzipped): refused with little memory."
    bomb = tmp_path/'bomb-idx3-ubyte.gz'
    with gzip.open(bomb, 'wb') as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack('>3I', 1, 28, 28) + bytes(784))
        for _ in range(64): f.write(bytes(1 << 20))
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match='longer than its header says'): read_idx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally: tracemalloc.stop()
    assert peak < 8e6, f"reading a 64 MB bomb peaked at {peak/1e6:.1f} MB"


def test_streaming_reader_still_checks_everything(tmp_path):
    "The streamed reads give the same tensors, and truncated, long and damaged files, plain or gzipped, still fail."
    t = torch.randint(-2**31, 2**31 - 1, (3, 5), dtype=torch.int32)
    for name in ('a', 'a.gz'): assert torch.equal(read_idx(write_idx(tmp_path/name, t)), t)
    good = (tmp_path/'a').read_bytes()
    cases = {'short': good[:-1], 'long': good + b'\0', 'short.gz': gzip.compress(good[:-1]), 'long.gz': gzip.compress(good + b'\0'),
             'cut.gz': gzip.compress(good)[:-12], 'crc.gz': gzip.compress(good)[:-8] + b'\0' * 8}
    want = {'short': 'truncated', 'long': 'longer than', 'short.gz': 'truncated', 'long.gz': 'longer than',
            'cut.gz': 'gzip stream is damaged', 'crc.gz': 'gzip stream is damaged'}
    for name, data in cases.items():
        (tmp_path/name).write_bytes(data)
        with pytest.raises(IDXError, match=want[name]): read_idx(tmp_path/name)
