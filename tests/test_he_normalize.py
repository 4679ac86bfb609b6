"""He & Ferguson normalise AllMusic audio "into the same range": the front end's level step."""

from __future__ import annotations

import numpy as np
import pytest

from mer_bench.errors import ConfigError
from mer_bench.methods import METHODS
from mer_bench.methods.ae_bilstm.frontend import (
    Frontend,
    SegmentLogmels,
    normalize_clip,
    segment_logmels,
)

SR = 22050


def _clip(seconds: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    return (0.3 * rng.standard_normal(int(SR * seconds))).astype(np.float32)


def test_peak_normalised_log_mels_do_not_depend_on_the_clip_level():
    wave = _clip()
    quiet = (0.1 * wave).astype(np.float32)
    peak = [segment_logmels(w, SR, 2.0, 1.0, normalize="peak") for w in (wave, quiet)]
    np.testing.assert_allclose(peak[0], peak[1], rtol=1e-4, atol=1e-5)
    raw = [segment_logmels(w, SR, 2.0, 1.0, normalize="none") for w in (wave, quiet)]
    assert np.abs(raw[0] - raw[1]).max() > 0.1  # log10(S + 1) is not scale-invariant


def test_the_registered_front_end_levels_clips_by_its_params_and_keys_its_cache_on_them():
    wave = _clip()
    levelled = SegmentLogmels(clip_s=2.0, segment_s=1.0)  # the default: peak
    as_is = SegmentLogmels(clip_s=2.0, segment_s=1.0, normalize="none")
    a, b = levelled.extract([wave, 0.1 * wave])
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    c, d = as_is.extract([wave, 0.1 * wave])
    assert np.abs(c - d).max() > 0.1
    assert levelled.cache_namespace != as_is.cache_namespace


def test_peak_normalisation_spans_minus_one_to_one_and_leaves_silence_alone():
    wave = _clip()
    out = normalize_clip(3.0 * wave, "peak")
    assert np.abs(out).max() == pytest.approx(1.0)
    silent = np.zeros(100, np.float32)
    np.testing.assert_array_equal(normalize_clip(silent, "peak"), silent)
    np.testing.assert_array_equal(normalize_clip(wave, "none"), wave)


def test_both_methods_pass_normalize_to_their_front_end_and_refuse_other_values():
    for name in ("ae-bilstm", "cnn-bilstm"):
        cls = METHODS.get(name)
        assert cls.Params().normalize == "peak"
        params = cls.make_params({"normalize": "none"})
        assert cls.frontend(params).params.normalize == "none"
        with pytest.raises(ConfigError, match="normalize must be one of"):
            cls.make_params({"normalize": "rms"})
    with pytest.raises(ConfigError, match="normalize must be one of"):
        Frontend(normalize="loud")
