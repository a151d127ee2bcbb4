"""venus_core: fine-tune protein language models on protein property data (no UI code here)."""

import logging
import os

__version__ = "0.1.0"

# Transparent huge pages for torch's large CPU tensors (2 MB pages for blocks of 2 MB and up): a
# training step's activations are gigabytes at large token budgets, and with 4 kB pages the kernel
# faults and zero-fills them page by page. Torch reads this once, at its first allocation, so it is
# set before torch is imported (venus_core comes first in the CLI and the dashboard); a value the
# user set wins. Measured (bench/README.md, Token budgets, huge pages): `full` at 8000 tokens
# 5,478-5,644 -> 6,099-6,196 residues/s, page faults of a run 6x fewer. No effect where the kernel
# has transparent huge pages off.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

# bitsandbytes (imported by peft) warns on every import on CPUs with AVX512-BF16 that an optional
# kernel from the Hugging Face hub is missing; its built-in fallback is used. Noise in every log.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
