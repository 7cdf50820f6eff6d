"""Request and response models of the notifications API, one module per resource."""
