"""venus_core: fine-tune protein language models on protein property data (no UI code here)."""

import logging

__version__ = "0.1.0"

# bitsandbytes (imported by peft) warns on every import on CPUs with AVX512-BF16 that an optional
# kernel from the Hugging Face hub is missing; its built-in fallback is used. Noise in every log.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
