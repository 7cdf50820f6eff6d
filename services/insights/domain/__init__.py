"""The pure rules of insights: how the key figures are computed from what happened."""
