__version__ = "0.0.1"

# Later chapters give the Learner methods (`fit_one_cycle`, `lr_find`, `freeze`, ...) with fastcore's `@patch`.
# Importing the chapters' modules here, in chapter order, means that whichever module a user imports first,
# `import accel_sgd.learner` included, every method the course adds to `Learner` is there.
from . import data, quiz, sgd_loop, optimizer, fast, learner, schedule, hooks, batchnorm, lr_find, transfer, optimizers_beyond, metrics, interpret, tensorboard, anomaly, checkpoint, scale, capstone
