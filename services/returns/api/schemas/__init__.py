"""Request and response models of the returns API, one module per resource."""
