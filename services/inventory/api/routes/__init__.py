"""Inventory's HTTP endpoints, one module per resource."""
