"""The order-capture API's request and response models, one module per resource."""
