"""Fashion-MNIST: the data on the device (`data`), batch augmentations (`augment`) and the lesson's
networks (`models`)."""
