"""venus_core: fine-tune protein language models on protein property data (no UI code here)."""

__version__ = "0.1.0"
