"""The published language: Pydantic models of every integration event, one module per producer."""
