"""The miniai Learner and what plugs into it: callbacks, schedules as callbacks, the recorder,
captured predictions and TTA, the learning-rate finder, the layer summary, the lesson's teaching
tools and checkpoints. Importing the package patches ``Learner.lr_find`` and ``Learner.summary``
on (their modules do it), as miniai patches them with fastcore."""
from torch_side.learn import lr_find, summary  # noqa: F401  (they patch Learner's methods on)
