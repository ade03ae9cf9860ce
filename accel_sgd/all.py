"Every public name of the course's modules, in chapter order: `from accel_sgd.all import *`, as fastai's `.all` modules."
# Written by hand, like accel_sgd/__init__.py (nbdev exports no module of star imports); tests/test_imports.py
# fails when a module of the package is missing here.
from .data import *
from .quiz import *
from .sgd_loop import *
from .optimizer import *
from .fast import *
from .learner import *
from .schedule import *
from .hooks import *
from .batchnorm import *
from .lr_find import *
from .transfer import *
from .optimizers_beyond import *
from .metrics import *
from .interpret import *
from .tensorboard import *
from .anomaly import *
from .checkpoint import *
from .scale import *
from .capstone import *
