"""Checkpoints: exact resume, the file layout, atomic writes, and clear errors for bad files."""

import json
import os
import re
import zipfile

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, nn, optim
from tinygan.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

from helpers import to_np


def make_gan(seed, device="cpu"):
    """A tiny GAN-like pair with batch-norm buffers on both sides, and their Adam optimizers."""
    tg.manual_seed(seed)
    G = nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.LeakyReLU(0.2), nn.Linear(32, 16), nn.Tanh(),
                      nn.Unflatten(1, (1, 4, 4))).to(device)
    D = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.2), nn.Flatten(),
                      nn.Linear(16, 1)).to(device)
    opt_g = optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    return G, D, opt_g, opt_d


def train_step(t, G, D, opt_g, opt_d, device="cpu"):
    """One non-saturating GAN step on data fixed by the step index t."""
    rng = np.random.default_rng(1000 + t)
    real = tg.Tensor(backend.to_device(rng.uniform(-1, 1, (8, 1, 4, 4)).astype(np.float32), device))
    z = tg.Tensor(backend.to_device(rng.standard_normal((8, 4)).astype(np.float32), device))
    opt_d.zero_grad()
    fake = G(z)
    d_loss = tg.softplus(-D(real)).mean() + tg.softplus(D(fake.detach())).mean()
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = tg.softplus(-D(G(z))).mean()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def _state(*modules):
    return [{k: v.copy() for k, v in m.state_dict().items()} for m in modules]


def _assert_same_state(a, b):
    for sa, sb in zip(a, b):
        assert list(sa) == list(sb)
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def test_resume_is_bit_for_bit_identical(tmp_path, device):
    straight = make_gan(0, device)
    losses_straight = [train_step(t, *straight, device) for t in range(6)]

    first = make_gan(0, device)
    losses = [train_step(t, *first, device) for t in range(3)]
    G, D, opt_g, opt_d = first
    path = tmp_path / "gan.npz"
    fixed_z = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert save_checkpoint(path, {"G": G, "D": D}, {"opt_g": opt_g, "opt_d": opt_d},
                           meta={"step": 3, "losses": losses, "config": {"lr": 2e-3}},
                           arrays={"fixed_z": fixed_z}) == str(path)

    resumed = make_gan(123, device)  # other initial weights: everything must come from the file
    G2, D2, opt_g2, opt_d2 = resumed
    assert not np.array_equal(G2.state_dict()["0.weight"], G.state_dict()["0.weight"])
    meta, arrays = load_checkpoint(path, {"G": G2, "D": D2}, {"opt_g": opt_g2, "opt_d": opt_d2})
    assert meta == {"step": 3, "losses": [list(pair) for pair in losses], "config": {"lr": 2e-3}}
    assert list(arrays) == ["fixed_z"]
    np.testing.assert_array_equal(arrays["fixed_z"], fixed_z)
    assert arrays["fixed_z"].dtype == np.float32
    assert opt_g2.step_count == opt_d2.step_count == 3
    assert opt_g2.hyper["betas"] == (0.5, 0.999)
    assert all(p.device == device for p in G2.parameters())
    losses += [train_step(t, *resumed, device) for t in range(3, 6)]

    assert losses == losses_straight
    _assert_same_state(_state(straight[0], straight[1]), _state(G2, D2))
    for a, b in zip(straight[2:], resumed[2:]):
        for sa, sb in zip(a.state, b.state):
            for k in sa:
                np.testing.assert_array_equal(to_np(sa[k]), to_np(sb[k]), err_msg=k)


def test_file_layout_needs_no_pickle(tmp_path):
    G, D, opt_g, opt_d = make_gan(0)
    train_step(0, G, D, opt_g, opt_d)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"G": G, "D": D}, {"opt_g": opt_g}, meta={"epoch": 1}, arrays={"z": np.zeros(3)})
    with np.load(path, allow_pickle=False) as npz:
        keys = set(npz.files)
        meta = json.loads(npz["__meta__.json"].tobytes().decode("utf-8"))
        np.testing.assert_array_equal(npz["model/G/0.weight"], G[0].weight.numpy())
        np.testing.assert_array_equal(npz["model/D/1.running_var"], D[1].running_var)
        np.testing.assert_array_equal(npz["optim/opt_g/0.exp_avg"], opt_g.state[0]["exp_avg"])
    expected = ({f"model/G/{k}" for k in G.state_dict()} | {f"model/D/{k}" for k in D.state_dict()}
                | {f"optim/opt_g/{i}.{k}" for i in range(len(opt_g.params)) for k in ("exp_avg", "exp_avg_sq")}
                | {"extra/z", "__meta__.json"})
    assert keys == expected
    assert meta["format"] == "tinygan-checkpoint" and meta["version"] == 1
    assert meta["modules"] == ["G", "D"]
    assert meta["optimizers"]["opt_g"] == {"type": "Adam", "step_count": 1, "num_params": len(opt_g.params),
                                           "param_steps": [1] * len(opt_g.params),
                                           "hyper": {"lr": 2e-3, "betas": [0.5, 0.999], "eps": 1e-8,
                                                     "weight_decay": 0.0}}
    assert meta["meta"] == {"epoch": 1}
    assert zipfile.is_zipfile(path)


def test_load_only_some_modules_and_no_optimizer(tmp_path):
    G, D, opt_g, opt_d = make_gan(0)
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"G": G, "D": D}, {"opt_g": opt_g, "opt_d": opt_d})
    G2 = make_gan(5)[0]
    meta, arrays = load_checkpoint(path, {"G": G2})  # e.g. for sampling: the generator alone
    assert meta == {} and arrays == {}
    _assert_same_state(_state(G), _state(G2))
    meta, _ = load_checkpoint(path)  # just the metadata
    assert meta == {}


def _saved(tmp_path, name="ckpt.npz"):
    G, D, opt_g, opt_d = make_gan(0)
    path = tmp_path / name
    save_checkpoint(path, {"G": G, "D": D}, {"opt_g": opt_g, "opt_d": opt_d}, meta={"step": 0})
    return path


@pytest.mark.parametrize("keep", [0.5, 0.9, -22], ids=["half", "90%", "minus_22_bytes"])
def test_truncated_file(tmp_path, keep):
    path = _saved(tmp_path)
    data = path.read_bytes()
    cut = int(len(data) * keep) if keep > 0 else len(data) + keep
    path.write_bytes(data[:cut])
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + r".*not a readable \.npz archive"):
        load_checkpoint(path, {"G": make_gan(1)[0]})


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        load_checkpoint(path)


def test_npz_without_metadata_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weight=np.ones(3))
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ": not a tinygan checkpoint"):
        load_checkpoint(path)


def test_single_npy_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "array.npz"
    with open(path, "wb") as f:
        np.save(f, np.ones(3))
    with pytest.raises(CheckpointError, match="not a tinygan checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize("doc, message", [
    ({"format": "someone-else", "version": 1}, r"not a tinygan checkpoint \(format tag 'someone-else'"),
    ({"version": 1}, r"not a tinygan checkpoint \(format tag None"),
    ({"format": "tinygan-checkpoint", "version": 99, "modules": [], "optimizers": {}, "extras": [], "meta": {}},
     r"format version 99; this tinygan reads versions 1 to 1"),
    ({"format": "tinygan-checkpoint", "version": 1, "modules": "G", "optimizers": {}, "extras": [], "meta": {}},
     r"corrupt metadata: 'modules' should be a list"),
    ([1, 2], r"not a tinygan checkpoint"),
], ids=["foreign_tag", "no_tag", "newer_version", "corrupt_field", "not_a_dict"])
def test_foreign_or_unknown_metadata(tmp_path, doc, message):
    path = tmp_path / "foreign.npz"
    np.savez(path, **{"__meta__.json": np.frombuffer(json.dumps(doc).encode(), np.uint8)})
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ".*" + message):
        load_checkpoint(path)


def test_unreadable_metadata(tmp_path):
    path = tmp_path / "bad_meta.npz"
    np.savez(path, **{"__meta__.json": np.frombuffer(b"{not json", np.uint8)})
    with pytest.raises(CheckpointError, match=r"not a tinygan checkpoint \(unreadable '__meta__.json'"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_checkpoint(tmp_path / "nope.npz")


def test_missing_module_or_optimizer(tmp_path):
    path = _saved(tmp_path)
    G, D, opt_g, _ = make_gan(1)
    before = _state(G)
    where = re.escape(str(path))
    with pytest.raises(CheckpointError, match=where + r": no module 'E' in this checkpoint \(it has: G, D\)"):
        load_checkpoint(path, {"G": G, "E": D})
    with pytest.raises(CheckpointError, match=r"no optimizer 'opt_e' in this checkpoint \(it has: opt_g, opt_d\)"):
        load_checkpoint(path, {"G": G}, {"opt_e": opt_g})
    _assert_same_state(before, _state(G))


def test_other_architecture_relays_load_state_dict_and_changes_nothing(tmp_path):
    path = _saved(tmp_path)
    _, D, _, opt_d = make_gan(1)
    opt_d.step_count = 17
    G_other = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Linear(8, 16), nn.Tanh())
    before = _state(D, G_other)
    # D fits and comes first: it must be put back when G fails
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, {"D": D, "G": G_other}, {"opt_d": opt_d})
    message = str(info.value)
    assert message.startswith(f"{path}: module 'G': load_state_dict for Sequential: wrong shapes: ")
    assert "0.weight: expected shape (8, 4), got (32, 4)" in message
    _assert_same_state(before, _state(D, G_other))
    assert opt_d.step_count == 17 and all(s == {} for s in opt_d.state)
    assert isinstance(info.value, ValueError)


def test_strict_false_is_passed_to_the_modules(tmp_path):
    path = _saved(tmp_path)
    G = make_gan(0)[0]
    bigger = nn.Sequential(*list(G), nn.Linear(1, 1))  # one more layer than the checkpoint's G
    with pytest.raises(CheckpointError, match="missing: 6.weight, 6.bias"):
        load_checkpoint(path, {"G": bigger})
    load_checkpoint(path, {"G": bigger}, strict=False)


def test_optimizer_mismatches_change_nothing(tmp_path):
    path = _saved(tmp_path)
    G, D, _, opt_d = make_gan(1)
    before = _state(G, D)
    with pytest.raises(CheckpointError, match=r"optimizer 'opt_g': the checkpoint holds a Adam optimizer, "
                                              r"it is being loaded into a SGD"):
        load_checkpoint(path, {"G": G, "D": D}, {"opt_g": optim.SGD(G.parameters())})
    with pytest.raises(CheckpointError, match=r"optimizer 'opt_d': the checkpoint's optimizer has 6 parameters, "
                                              r"this one has 2"):
        load_checkpoint(path, {"G": G, "D": D}, {"opt_d": optim.Adam(D[4].parameters())})
    _assert_same_state(before, _state(G, D))


def test_meta_must_be_json(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    G = make_gan(0)[0]
    with pytest.raises(TypeError, match="meta must be JSON-serialisable.*ndarray"):
        save_checkpoint(path, {"G": G}, meta={"z": np.zeros(2)})
    with pytest.raises(TypeError, match="meta: expected a dict, got list"):
        save_checkpoint(path, {"G": G}, meta=[1])
    assert path.read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]


def test_bad_names_and_arguments(tmp_path):
    G = make_gan(0)[0]
    with pytest.raises(ValueError, match=r"modules names must be non-empty strings without '/', got 'a/b'"):
        save_checkpoint(tmp_path / "x.npz", {"a/b": G})
    with pytest.raises(TypeError, match=r"modules\['G'\]: expected a Module, got ndarray"):
        save_checkpoint(tmp_path / "x.npz", {"G": np.zeros(2)})
    with pytest.raises(TypeError, match=r"arrays\['names'\]: expected a numeric array, got dtype object"):
        save_checkpoint(tmp_path / "x.npz", {"G": G}, arrays={"names": np.array([None, "a"], dtype=object)})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_checkpoint(tmp_path / "missing_dir" / "x.npz", {"G": G})
    assert os.listdir(tmp_path) == []


def _boom(*args, **kwargs):
    raise OSError("disk full (simulated)")


def _half_savez(file, **entries):
    """Write part of an archive, then fail, as a full disk or a killed process would."""
    file.write(b"PK\x03\x04 half an archive")
    raise OSError("disk full (simulated)")


@pytest.mark.parametrize("target, replacement", [("numpy.savez", _half_savez), ("os.replace", _boom),
                                                 ("os.fsync", _boom)], ids=["savez", "replace", "fsync"])
def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, target, replacement):
    path = _saved(tmp_path)
    data = path.read_bytes()
    G, D, opt_g, opt_d = make_gan(1)
    train_step(0, G, D, opt_g, opt_d)
    monkeypatch.setattr(target, replacement)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, {"G": G, "D": D}, {"opt_g": opt_g, "opt_d": opt_d})
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(tmp_path / "new.npz", {"G": G})
    monkeypatch.undo()
    assert path.read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]  # no temporary files, no half-written new.npz
    load_checkpoint(path, {"G": G, "D": D})  # still a good checkpoint


def test_overwrite_replaces_the_checkpoint(tmp_path):
    path = _saved(tmp_path)
    G, D, opt_g, opt_d = make_gan(1)
    for t in range(2):
        train_step(t, G, D, opt_g, opt_d)
    save_checkpoint(path, {"G": G, "D": D}, {"opt_g": opt_g, "opt_d": opt_d}, meta={"step": 2})
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]
    G2, D2, opt_g2, opt_d2 = make_gan(2)
    meta, _ = load_checkpoint(path, {"G": G2, "D": D2}, {"opt_g": opt_g2, "opt_d": opt_d2})
    assert meta == {"step": 2} and opt_g2.step_count == 2
    _assert_same_state(_state(G, D), _state(G2, D2))
