"""Request and response models of the insights API, one module per resource."""
