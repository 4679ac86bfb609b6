"""Third-party deprecation noise, silenced by exact message: a user sees our warnings only.

Each filter names one known message of a dependency we cannot change (it warns
about its own internals, not about anything the user does), so no warning of
mer-bench's own and no new third-party warning is hidden.
"""

from __future__ import annotations

import warnings

# message regexes (matched from the start) of known third-party notices
KNOWN_NOISE: tuple[str, ...] = (
    # Lightning 2.6 calls torch's deprecated LeafSpec inside its own _pytree helper
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
)


def silence_third_party() -> None:
    """Install the filters (idempotent: ``warnings`` drops duplicate filters)."""
    for message in KNOWN_NOISE:
        warnings.filterwarnings("ignore", message=message)
