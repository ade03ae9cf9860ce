"""The PyTorch tutorial's data path, for the benches to compare against: torchvision's FashionMNIST with ToTensor,
read one sample at a time through torch's DataLoader, over the same files `accel_sgd.data` finds."""
import gzip, tempfile
from pathlib import Path
import torch
from accel_sgd.data import find_fashion_mnist


def tutorial_loaders(bs: int = 64):
    "(train, valid) DataLoaders as in PyTorch's tutorial; the files are copied, un-gzipped, into torchvision's layout."
    import torchvision
    from torchvision.transforms import ToTensor
    root = Path(tempfile.mkdtemp()); raw = root/'FashionMNIST'/'raw'; raw.mkdir(parents=True)
    for f in find_fashion_mnist().values():   # torchvision wants the files un-gzipped
        data = f.read_bytes()
        (raw/f.name.removesuffix('.gz')).write_bytes(gzip.decompress(data) if data[:2] == b'\x1f\x8b' else data)
    make = lambda train: torch.utils.data.DataLoader(
        torchvision.datasets.FashionMNIST(root, train=train, download=False, transform=ToTensor()), batch_size=bs, shuffle=train)
    return make(True), make(False)
