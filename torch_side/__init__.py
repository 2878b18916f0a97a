"""torch_side: the lesson's optimizers, schedulers, Learner and ResNets as real PyTorch code."""
