"""The order-capture API's endpoints, one module per resource."""
