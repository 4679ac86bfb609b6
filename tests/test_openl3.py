"""OpenL3: openl3's framing, kapre 0.1.4's spectrograms, network shapes, Keras .h5 conversion."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mer_bench.errors import ConfigError, FeatureError
from mer_bench.features import FEATURES
from mer_bench.features import openl3 as L3
from mer_bench.features import weights as W
from mer_bench.features._frontends import KAPRE, kapre_spectrogram, openl3_frames

SR = 48000


@pytest.fixture(autouse=True)
def _isolated_weights(tmp_path_factory, monkeypatch) -> None:
    """No real hub cache and no --weights leak into or out of these tests."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("no-torch-home")))
    monkeypatch.setenv(W.WEIGHTS_ENV, "")


def _wave(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * (100 + 3000 * t) * t)
            + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


def _openl3_reference_frames(audio: np.ndarray, hop_s: float, center: bool) -> np.ndarray:
    """openl3's _preprocess_audio_batch, restated: centre pad, end pad, stride."""
    hop = int(hop_s * SR)
    if center:
        audio = np.pad(audio, (SR // 2, 0))
    n = len(audio)
    pad = SR - n if n < SR else int(np.ceil((n - SR) / hop)) * hop - (n - SR)
    audio = np.pad(audio, (0, max(pad, 0)))
    count = 1 + int((len(audio) - SR) / hop)
    return np.stack([audio[i * hop : i * hop + SR] for i in range(count)])


@pytest.mark.parametrize("seconds,hop_s,center", [(2.5, 0.1, True), (3.0, 0.5, False),
                                                  (0.4, 0.1, True), (1.0, 1.0, False)])
def test_frames_match_openl3(seconds, hop_s, center):
    wave = _wave(seconds)
    ours = openl3_frames(wave, hop_s, center)
    reference = _openl3_reference_frames(wave, hop_s, center)
    assert ours.shape == reference.shape
    np.testing.assert_array_equal(ours, reference)


def _kapre_reference(frame: np.ndarray, input_repr: str) -> np.ndarray:
    """kapre 0.1.4 in float64: DFT kernels as a strided convolution, TF 'same'/'valid' padding."""
    import librosa
    import scipy.signal

    n_dft, n_mels, padding = KAPRE[input_repr]
    k = np.arange(n_dft // 2 + 1)[:, None] * np.arange(n_dft)[None, :] * 2 * np.pi / n_dft
    window = scipy.signal.get_window("hann", n_dft, fftbins=True)
    real, imag = np.cos(k) * window, -np.sin(k) * window
    x = frame.astype(np.float64)
    if padding == "same":
        total = (int(np.ceil(SR / 242)) - 1) * 242 + n_dft - SR
        x = np.pad(x, (total // 2, total - total // 2))
    windows = np.stack([x[i : i + n_dft] for i in range(0, len(x) - n_dft + 1, 242)])
    power = (windows @ real.T) ** 2 + (windows @ imag.T) ** 2  # [T, F]
    if n_mels:
        power = power @ librosa.filters.mel(sr=SR, n_fft=n_dft, n_mels=n_mels, fmin=0,
                                            fmax=SR / 2, htk=True, norm="slaney").T
    db = 10 * np.log10(np.maximum(np.sqrt(power), 1e-10))
    return np.maximum(db - db.max(), -80.0).T  # [F, T]


@pytest.mark.filterwarnings("ignore:Empty filters detected")  # mel256's narrowest bands
@pytest.mark.parametrize("input_repr,shape", [("mel128", (128, 199)), ("mel256", (256, 199)),
                                              ("linear", (257, 197))])
def test_spectrograms_equal_kapre_014(input_repr, shape):
    import torch

    from mer_bench.features._frontends import slaney_mel_basis

    frame = _wave(1.0, seed=3)
    n_dft, n_mels, _ = KAPRE[input_repr]
    mel = torch.from_numpy(slaney_mel_basis(n_mels, n_dft)).float() if n_mels else None
    ours = kapre_spectrogram(torch.from_numpy(frame)[None], input_repr, mel)[0, 0].numpy()
    reference = _kapre_reference(frame, input_repr)
    assert ours.shape == reference.shape == shape
    assert ours.max() == 0.0 and ours.min() >= -80.0
    # float32 (as in kapre itself) against float64: deep spectral valleys may differ slightly
    np.testing.assert_allclose(ours, reference, atol=0.05)
    assert np.mean(np.abs(ours - reference) < 1e-3) > 0.999


@pytest.mark.parametrize("input_repr", ["mel128", "mel256", "linear"])
def test_network_shapes_give_512_and_6144_dimensions(input_repr):
    import torch

    n_dft, n_mels, _ = KAPRE[input_repr]
    freq, frames = (n_mels or n_dft // 2 + 1), (197 if input_repr == "linear" else 199)
    with torch.device("meta"):  # shapes only: no arithmetic
        net = L3.build_network()
        maps = net(torch.empty(2, 1, freq, frames))
    assert maps.shape[:2] == (2, 512)
    for size, pool in L3.POOL[input_repr].items():
        assert L3.pool_and_flatten(maps, pool).shape == (2, size)


def test_folding_batch_norms_into_convolutions_changes_nothing():
    import copy

    import torch

    from mer_bench.features._frontends import empty_module, seeded_init_

    net = empty_module(L3.build_network, "cpu")
    seeded_init_(net, 0)
    rng = np.random.default_rng(5)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                c = module.num_features
                for attr, values in (("weight", rng.uniform(0.5, 1.5, c)),
                                     ("bias", rng.normal(0, 0.2, c)),
                                     ("running_mean", rng.normal(0, 0.2, c)),
                                     ("running_var", rng.uniform(0.5, 2.0, c))):
                    getattr(module, attr).copy_(torch.from_numpy(values))
    net.eval()
    x = torch.from_numpy(rng.normal(-40, 15, (2, 1, 32, 24)).astype(np.float32))
    with torch.no_grad():
        expected = net(x)
        folded_net = L3.fold_batch_norms_(copy.deepcopy(net))
        folded = folded_net(x)
    norms = [n for n, m in folded_net.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms == ["batch_normalization_1"]
    np.testing.assert_allclose(folded.numpy(), expected.numpy(), rtol=1e-4,
                               atol=1e-4 * float(expected.abs().max()))


def test_pooling_flattens_channels_last_like_keras():
    import torch

    maps = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    maps = maps[:, :, torch.randperm(4)][..., torch.randperm(6)]
    ours = L3.pool_and_flatten(maps, (2, 3)).numpy()
    m = maps.numpy().reshape(2, 3, 2, 2, 2, 3).max(axis=(3, 5))  # [B, C, h, w]
    np.testing.assert_array_equal(ours, m.transpose(0, 2, 3, 1).reshape(2, -1))


def test_parameters_are_validated_and_dims_follow_them():
    assert FEATURES.get("openl3")(embedding_size=512).dim == 512
    assert FEATURES.get("openl3")(hop_s=0.5).hop_s == 0.5
    for bad in ({"input_repr": "mel64"}, {"content_type": "speech"}, {"embedding_size": 128},
                {"hop_s": 0.0}):
        with pytest.raises(ConfigError):
            FEATURES.get("openl3")(**bad)


def _keras_layers(rng: np.random.Generator) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Layer names and weights of openl3's Keras audio model, weightless layers included."""
    layers: list[tuple[str, dict[str, np.ndarray]]] = [("input_1", {})]
    layers.append(("melspectrogram_1", {"real_kernels": rng.standard_normal((4, 1, 1, 3)),
                                        "freq2mel": rng.standard_normal((3, 2))}))

    def bn(i: int, c: int) -> None:
        layers.append((f"batch_normalization_{i}", {
            "gamma": rng.uniform(0.5, 1.5, c), "beta": rng.normal(0, 0.1, c),
            "moving_mean": rng.normal(0, 0.1, c), "moving_variance": rng.uniform(0.5, 2, c)}))

    bn(1, 1)
    c_in = 1
    for i, c in enumerate(L3.CHANNELS, 1):
        name = f"conv2d_{i}" if i < 8 else "audio_embedding_layer"
        std = np.sqrt(2 / (9 * c_in))
        layers.append((name, {"kernel": rng.normal(0, std, (3, 3, c_in, c)),
                              "bias": rng.normal(0, 0.01, c)}))
        if i < 8:
            bn(i + 1, c)
            layers.append((f"activation_{i}", {}))
        if i in (2, 4, 6):
            layers.append((f"max_pooling2d_{i // 2}", {}))
        c_in = c
    return layers


def _write_h5(path, layers) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n, _ in layers]
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.2.4"
        for name, weights in layers:
            group = f.create_group(name)
            group.attrs["weight_names"] = [f"{name}/{w}:0".encode() for w in weights]
            for w, array in weights.items():
                group.create_dataset(f"{name}/{w}:0", data=array.astype(np.float32))


@pytest.fixture
def keras_h5(tmp_path, monkeypatch):
    pytest.importorskip("h5py")
    layers = _keras_layers(np.random.default_rng(7))
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    path = hub / "openl3_audio_mel128_music.h5"
    _write_h5(path, layers)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return path, dict(layers)


def test_keras_h5_converts_by_position_with_torch_layouts(keras_h5):
    path, layers = keras_h5
    state = L3.keras_state_dict(path)
    kernel = layers["conv2d_3"]["kernel"]
    np.testing.assert_allclose(state["conv2d_3.weight"], kernel.transpose(3, 2, 0, 1), rtol=1e-6)
    assert state["conv2d_3.weight"].shape == (128, 64, 3, 3)
    bn = layers["batch_normalization_8"]
    np.testing.assert_allclose(state["batch_normalization_8.running_var"], bn["moving_variance"],
                               rtol=1e-6)
    np.testing.assert_allclose(state["batch_normalization_8.weight"], bn["gamma"], rtol=1e-6)
    assert "audio_embedding_layer.bias" in state and not any("mel" in k for k in state)


def test_h5_in_the_hub_cache_and_torchopenl3_checkpoint_give_the_same_embeddings(keras_h5,
                                                                              tmp_path):
    import torch

    path, _ = keras_h5
    params = {"input_repr": "mel128", "embedding_size": 512, "hop_s": 1.0, "center": False}
    wave = _wave(1.0)
    from_h5 = FEATURES.get("openl3")(**params)
    assert from_h5.weights_identity == "sha256:" + W.sha256_of(path)
    (a,) = from_h5.extract([wave])
    # the same weights as a torchopenl3 state dict (with its spectrogram buffers) via --weights
    state = {k: torch.from_numpy(np.asarray(v)) for k, v in L3.keras_state_dict(path).items()}
    state["speclayer.mel_basis"] = torch.zeros(128, 1025)
    for i in range(1, 9):
        state[f"batch_normalization_{i}.num_batches_tracked"] = torch.tensor(0)
    checkpoint = tmp_path / "torchopenl3_mel128_music_512.pth.tar"
    torch.save(state, checkpoint)
    W.use_paths([checkpoint])
    (b,) = FEATURES.get("openl3")(**params).extract([wave])
    assert a.shape == (1, 512)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(a).max())
    (r,) = FEATURES.get("openl3")(random_init=True, **params).extract([wave])
    assert not np.allclose(a, r)  # the file's weights were used, not the seeded ones


def test_an_h5_with_the_wrong_layers_is_refused(keras_h5, tmp_path):
    _, layers = keras_h5
    broken = [(n, w) for n, w in _keras_layers(np.random.default_rng(1)) if n != "conv2d_5"]
    _write_h5(tmp_path / "broken.h5", broken)
    with pytest.raises(FeatureError, match="15 layers with weights"):
        L3.keras_state_dict(tmp_path / "broken.h5")


@pytest.mark.slow
@pytest.mark.realdata
def test_throughput_on_4q(shared_data, tmp_path):
    """Clips per second of OpenL3 (random init, openl3 defaults) on real 4Q clips, CPU.

    Run: pytest -m slow -s tests/test_openl3.py -k throughput
    """
    from mer_bench.data import DATASETS
    from mer_bench.features.cache import FeatureCache

    tracks = DATASETS.get("4q")(shared_data / "4q").tracks()[:2]  # ~300 frames per clip
    for params in ({"random_init": True},
                   {"random_init": True, "input_repr": "mel128", "embedding_size": 512,
                    "hop_s": 0.5}):
        extractor = FEATURES.get("openl3")(**params)
        extractor.extract([_wave(1.0)])  # build the network outside the timing
        start = time.perf_counter()
        arrays, stats = FeatureCache(tmp_path / "cache").features(extractor, tracks)
        seconds = time.perf_counter() - start
        frames = sum(len(a) for a in arrays.values())
        print(f"\nopenl3 {params} on {len(tracks)} 4Q clips: {len(tracks) / seconds:.3f} clips/s, "
              f"{frames / seconds:.1f} frames/s ({seconds:.1f} s)")
        assert stats.computed == len(tracks)
        assert all(a.shape[1] == extractor.dim and np.isfinite(a).all() for a in arrays.values())


# --- the openl3 0.4 front end and an independent forward pass ------------------------------
def _openl3_04_reference(frame: np.ndarray, input_repr: str) -> np.ndarray:
    """openl3 0.4 (kapre 0.3, pad_end) in float64 numpy: end-padded periodic-Hann frames,
    |rfft|, Slaney-scale mel filters on the magnitude, 10 log10, minus max, floor -80."""
    import librosa
    import scipy.signal

    n_dft, n_mels, _ = KAPRE[input_repr]
    n_out = int(np.ceil(SR / 242))
    x = np.pad(frame.astype(np.float64), (0, (n_out - 1) * 242 + n_dft - SR))
    windows = np.stack([x[i * 242 : i * 242 + n_dft] for i in range(n_out)])
    window = scipy.signal.get_window("hann", n_dft, fftbins=True)
    magnitude = np.abs(np.fft.rfft(windows * window, axis=1))  # [T, F]
    mel = magnitude @ librosa.filters.mel(sr=SR, n_fft=n_dft, n_mels=n_mels, fmin=0,
                                          fmax=SR / 2, htk=False, norm="slaney").T
    db = 10 * np.log10(np.maximum(mel, 1e-10))
    return np.maximum(db - db.max(), -80.0).T  # [F, T]


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize("input_repr", ["mel128", "mel256"])
def test_openl3_04_spectrograms_equal_a_numpy_restatement(input_repr):
    import torch

    from mer_bench.features._frontends import openl3_04_spectrogram, slaney_scale_mel_basis

    frame = _wave(1.0, seed=4)
    n_dft, n_mels, _ = KAPRE[input_repr]
    mel = torch.from_numpy(slaney_scale_mel_basis(n_mels, n_dft)).float()
    ours = openl3_04_spectrogram(torch.from_numpy(frame)[None], input_repr, mel)[0, 0].numpy()
    reference = _openl3_04_reference(frame, input_repr)
    assert ours.shape == reference.shape == (n_mels, 199)
    np.testing.assert_allclose(ours, reference, atol=0.05)
    assert np.mean(np.abs(ours - reference) < 1e-3) > 0.999
    # and it is not kapre 0.1.4's spectrogram
    assert np.abs(reference - _kapre_reference(frame, input_repr)).mean() > 0.5


def test_frontend_is_a_validated_parameter_in_the_cache_key():
    a = FEATURES.get("openl3")(random_init=True)
    b = FEATURES.get("openl3")(random_init=True, frontend="openl3-0.4")
    assert a.params.frontend == "kapre-0.1.4"  # the front end the weights were trained with
    assert a.params_hash != b.params_hash and a.cache_namespace != b.cache_namespace
    with pytest.raises(ConfigError, match="frontend"):
        FEATURES.get("openl3")(frontend="kapre-0.3")


def _numpy_l3_forward(spec: np.ndarray, layers: dict[str, dict[str, np.ndarray]],
                      pool: tuple[int, int]) -> np.ndarray:
    """openl3's Keras audio network restated in numpy on a [F, T] dB spectrogram, Keras
    layouts throughout: channels-last maps, HWIO kernels, 'same' 3x3 convolutions, batch
    norm with epsilon 1e-3, 2x2 max pools, the final max pool and a channels-last flatten."""
    def bn(x, w):
        return (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + 1e-3) * w["gamma"] \
            + w["beta"]

    def conv(x, w):  # x [H, W, C], kernel [3, 3, C, O]
        h, wd, _ = x.shape
        padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
        out = np.zeros((h, wd, w["kernel"].shape[3]), np.float64) + w["bias"]
        for dy in range(3):
            for dx in range(3):
                out += padded[dy : dy + h, dx : dx + wd] @ w["kernel"][dy, dx]
        return out

    def max_pool(x, ph, pw):
        h, wd = x.shape[0] // ph, x.shape[1] // pw
        return x[: h * ph, : wd * pw].reshape(h, ph, wd, pw, -1).max(axis=(1, 3))

    x = bn(spec.astype(np.float64)[:, :, None], layers["batch_normalization_1"])
    for i in range(1, 8):
        x = np.maximum(bn(conv(x, layers[f"conv2d_{i}"]), layers[f"batch_normalization_{i + 1}"]),
                       0.0)
        if i in (2, 4, 6):
            x = max_pool(x, 2, 2)
    x = conv(x, layers["audio_embedding_layer"])
    return max_pool(x, *pool).reshape(-1)  # (row, column, channel) order


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize("size", [512, 6144])
def test_forward_pass_of_an_official_layout_h5_equals_a_numpy_restatement(keras_h5, size):
    """The whole extractor (h5 conversion, front end, network, pooling, flatten) against
    numpy built only from the .h5 arrays and the numpy kapre 0.1.4 reference. At 6144
    dimensions the pooled map is 4 x 3 x 512, so the flatten order is checked too."""
    _, layers = keras_h5
    wave = _wave(1.0, seed=5)
    params = {"input_repr": "mel128", "embedding_size": size, "hop_s": 1.0, "center": False}
    (ours,) = FEATURES.get("openl3")(**params).extract([wave])
    spec = _kapre_reference(wave, "mel128")  # [128, 199]
    reference = _numpy_l3_forward(spec, layers, L3.POOL["mel128"][size])
    assert ours.shape == (1, size) and reference.shape == (size,)
    np.testing.assert_allclose(ours[0], reference, rtol=1e-3, atol=1e-3 * np.abs(reference).max())
    if size == 6144:  # a channels-first flatten would not match
        channels_first = reference.reshape(4, 3, 512).transpose(2, 0, 1).reshape(-1)
        assert not np.allclose(ours[0], channels_first, atol=1e-3 * np.abs(reference).max())
