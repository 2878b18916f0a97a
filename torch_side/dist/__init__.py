"""Distribution: one run over several processes (`ddp`, DistributedDataParallel under torchrun),
its single-process stand-in (`local`), and grids of independent trials as Ray tasks (`grid`)."""
