"""The fake DEAM, PMEmo, 4Q and EiM trees, with the defaults these tests were written for.

The builders themselves ship with the adapters (``<Adapter>.fake_tree``, built
from the real headers and quirks; shared pieces in ``mer_bench.data.fakes``).
By default they write a clean tree with audio for every song; the tests here
mostly want a few clips missing, so each ``make_*`` names its own ``audio_ids``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mer_bench.data.deam import DeamAdapter
from mer_bench.data.deam_fake import FAKE_2013 as DEAM_2013
from mer_bench.data.deam_fake import FAKE_2014 as DEAM_2014
from mer_bench.data.deam_fake import FAKE_2015 as DEAM_2015
from mer_bench.data.deam_fake import FAKE_LONG as DEAM_LONG
from mer_bench.data.deam_fake import FAKE_SHORT as DEAM_SHORT
from mer_bench.data.emomusic import FAKE_FRAMES as EIM_FRAMES
from mer_bench.data.emomusic import EmoMusicAdapter
from mer_bench.data.fakes import SR, canonical, curve, truth, write_clip, write_text
from mer_bench.data.fourq import DATASET_DIR, FourQAdapter
from mer_bench.data.fourq import fake_songs as fourq_songs
from mer_bench.data.pmemo import FAKE_IDS as PMEMO_IDS
from mer_bench.data.pmemo import FAKE_UNANNOTATED as PMEMO_UNANNOTATED
from mer_bench.data.pmemo import PMEmoAdapter
from mer_bench.data.pmemo import fake_truth as pmemo_truth

__all__ = [
    "DEAM_2013", "DEAM_2014", "DEAM_2015", "DEAM_LONG", "DEAM_SHORT", "EIM_FRAMES",
    "PMEMO_IDS", "PMEMO_UNANNOTATED", "SR", "canonical", "curve", "fourq_songs", "make_4q",
    "make_deam", "make_eim", "make_pmemo", "pmemo_truth", "truth", "write_clip", "write_text",
]  # fmt: skip


def make_eim(root: Path, **options: Any) -> Path:
    """EiM with clips for songs 3 and 4 only (unless ``audio_ids`` says otherwise)."""
    options.setdefault("audio_ids", (3, 4))
    return EmoMusicAdapter.fake_tree(root, **options)


def make_deam(root: Path, **options: Any) -> Path:
    """DEAM with one clip per subset (songs 2, 1001, 2001) unless ``audio_ids`` is given."""
    options.setdefault("audio_ids", (2, 1001, 2001))
    return DeamAdapter.fake_tree(root, **options)


def make_pmemo(root: Path, **options: Any) -> Path:
    """PMEmo without the static file and with clips for songs 1 and 4 only, by default."""
    options.setdefault("static", False)
    options.setdefault("audio_ids", (1, 4))
    return PMEmoAdapter.fake_tree(root, **options)


def make_4q(root: Path, **options: Any) -> Path:
    """4Q below ``root``; returns the inner ``MER_audio_taffc_dataset`` folder."""
    return FourQAdapter.fake_tree(root, **options) / DATASET_DIR
