"""The course's offline data sets: shapes, dtypes, determinism, disjoint splits, held-out seeds, cards, MNIST files."""

from __future__ import annotations

import doctest
import importlib
import time

import numpy as np
import pytest

from autograder import datasets
from autograder.datasets import (
    DATASETS,
    PUBLIC_HELDOUT_SEED,
    Split,
    card,
    load_breast_cancer,
    load_digits,
    load_mnist,
    load_topic,
    make_sequences,
    make_shapes,
)

SPLITS = ("train", "val", "test")

# Loader, call with small sizes, expected input shape per example, number of classes.
LOADERS = {
    "digits": (lambda **kw: load_digits(**kw), (64,), 10),
    "breast_cancer": (lambda **kw: load_breast_cancer(**kw), (30,), 2),
    "shapes": (lambda **kw: make_shapes(n=300, n_test=100, **kw), (28, 28, 1), 5),
    "sequences": (lambda **kw: make_sequences(n=300, n_test=100, **kw), (20, 4), 4),
}


def _rows(X: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in X.reshape(len(X), -1)}


@pytest.fixture(scope="module", params=sorted(LOADERS))
def loaded(request):
    load, shape, classes = LOADERS[request.param]
    return request.param, load(), shape, classes


def test_shapes_and_dtypes(loaded):
    name, data, shape, classes = loaded
    assert isinstance(data, Split) and data.name == name
    for part in SPLITS:
        X, y = getattr(data, f"X_{part}"), getattr(data, f"y_{part}")
        assert X.dtype == np.float32, f"{name} X_{part}: {X.dtype}"
        assert X.shape[1:] == shape, f"{name} X_{part}: {X.shape}"
        assert y.dtype == np.int64 and y.shape == (len(X),), f"{name} y_{part}: {y.dtype} {y.shape}"
        assert len(X) > 0 and np.all(np.isfinite(X))
        assert set(np.unique(y)) <= set(range(classes))
    assert data.num_classes == classes
    assert set(np.unique(data.y_train)) == set(range(classes)), "every class appears in the train split"


def test_splits_are_disjoint(loaded):
    name, data, _, _ = loaded
    train, val, test = (_rows(getattr(data, f"X_{part}")) for part in SPLITS)
    assert not train & val, f"{name}: train and validation share examples"
    assert not train & test, f"{name}: train and held-out test share examples"
    assert not val & test, f"{name}: validation and held-out test share examples"


def test_same_seed_same_data_other_seed_other_data(loaded):
    name, data, _, _ = loaded
    load = LOADERS[name][0]
    again = load()
    for key in data.keys():
        np.testing.assert_array_equal(again[key], data[key], err_msg=f"{name} {key} is not deterministic")
    other = load(seed=1)
    assert not np.array_equal(other.X_train, data.X_train), f"{name}: seed does not change the train split"


@pytest.mark.parametrize("name", ["shapes", "sequences"])
def test_heldout_seed_changes_only_the_heldout_split(name):
    load = LOADERS[name][0]
    public, secret = load(), load(heldout_seed=PUBLIC_HELDOUT_SEED + 1)
    for key in ("X_train", "y_train", "X_val", "y_val"):
        np.testing.assert_array_equal(secret[key], public[key], err_msg=f"{name}: heldout_seed changed {key}")
    assert not np.array_equal(secret.X_test, public.X_test), f"{name}: heldout_seed did not change X_test"
    assert not np.array_equal(secret.y_test, public.y_test)
    # The train seed, in turn, leaves the held-out split alone.
    np.testing.assert_array_equal(load(seed=5).X_test, public.X_test)


@pytest.mark.parametrize("name", ["shapes", "sequences"])
def test_equal_seeds_still_give_a_fresh_heldout_split(name):
    data = LOADERS[name][0](seed=7, heldout_seed=7)
    assert not _rows(data.X_test) & _rows(np.concatenate([data.X_train, data.X_val]))


def test_digits_is_all_of_sklearn_digits_scaled_to_unit_interval():
    from sklearn.datasets import load_digits as sk_digits

    raw = sk_digits()
    data = load_digits()
    X = np.concatenate([data.X_train, data.X_val, data.X_test])
    y = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert len(X) == len(raw.data) == 1797
    assert X.min() == 0.0 and X.max() == 1.0
    # Every example, scaled back, is a row of the original with its label (as a multiset).
    def examples(features, labels):
        return sorted(zip(map(bytes, np.rint(features).astype(np.uint8)), labels.tolist()))

    assert examples(X * 16, y) == examples(raw.data, raw.target)


@pytest.mark.parametrize("load", [load_digits, load_breast_cancer])
def test_real_data_splits_are_stratified(load):
    data = load()
    overall = np.bincount(np.concatenate([data.y_train, data.y_val, data.y_test])) / (
        len(data.y_train) + len(data.y_val) + len(data.y_test))
    for part in SPLITS:
        share = np.bincount(data[f"y_{part}"], minlength=len(overall)) / len(data[f"y_{part}"])
        np.testing.assert_allclose(share, overall, atol=0.03, err_msg=f"{data.name} {part} class shares")


def test_breast_cancer_is_standardised_with_train_statistics_only():
    data = load_breast_cancer()
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1, atol=1e-4)
    # Validation and test use the train mean and std, so their own means are not exactly zero.
    assert np.abs(data.X_test.mean(axis=0)).max() > 0.05
    assert np.abs(data.X_val.mean(axis=0)).max() > 0.05
    assert data.classes == ("malignant", "benign")


def test_shapes_images_hold_one_bright_shape_on_a_dark_background():
    data = make_shapes(n=500, n_test=10)
    X = data.X_train[..., 0]
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert np.all(X.max(axis=(1, 2)) > 0.5), "every image has ink"
    assert np.median(X) < 0.2, "the background is dark"
    # Classes are roughly balanced.
    assert np.bincount(data.y_train, minlength=5).min() > 0.12 * len(data.y_train)
    assert data.classes == ("square", "circle", "triangle", "plus", "cross")


def test_sequences_class_is_the_early_marker_and_the_last_step_says_nothing():
    from sklearn.linear_model import LogisticRegression

    data = make_sequences(n=2000, n_test=1000)
    # Oracle for the task itself: the strongest feature in the marker window names the class.
    early = data.X_test[:, :5, :].max(axis=1).argmax(axis=1)
    assert np.mean(early == data.y_test) > 0.95
    # A model of the last step alone is at chance level (0.25 for four classes).
    last = LogisticRegression(max_iter=500).fit(data.X_train[:, -1], data.y_train)
    assert last.score(data.X_test[:, -1], data.y_test) < 0.35


def test_generators_are_fast():
    for load in (make_shapes, make_sequences):
        start = time.process_time()
        load()
        assert time.process_time() - start < 1.0, f"{load.__name__} with default sizes takes over 1 s of CPU"


def test_loaders_are_keyword_only():
    with pytest.raises(TypeError):
        load_digits(0.1)
    with pytest.raises(TypeError):
        make_shapes(100)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n": 1}, "n >= 2"),
    ({"val_fraction": 1.0}, "val_fraction"),
    ({"marker_window": 0}, "marker_window"),
    ({"num_classes": 1}, "num_classes"),
])
def test_bad_generator_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_sequences(**kwargs)


def test_bad_split_fractions_are_clear_errors():
    with pytest.raises(ValueError, match="val_fraction \\+ test_fraction"):
        load_digits(val_fraction=0.5, test_fraction=0.5)


def test_split_reads_like_a_dict():
    data = make_sequences(n=20, n_test=5)
    assert data.keys() == ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
    assert dict(data)["y_test"] is data.y_test
    assert data.train == (data.X_train, data.y_train)
    with pytest.raises(KeyError, match="X_train"):
        data["features"]
    with pytest.raises(ValueError, match="rows"):
        Split(np.zeros((3, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1), np.zeros((1, 2)), np.zeros(1))


def test_registry_maps_keras_topics_to_their_data():
    assert DATASETS == {"mlp": load_digits, "cnn": make_shapes, "rnn": make_sequences}
    assert load_topic("cnn").X_train.shape[1:] == (28, 28, 1)
    secret = load_topic("rnn", heldout_seed=99)
    np.testing.assert_array_equal(secret.X_test, make_sequences(heldout_seed=99).X_test)
    # Digits is a fixed public set: the held-out seed has nothing to change there.
    np.testing.assert_array_equal(load_topic("mlp", heldout_seed=99).X_test, load_digits().X_test)
    with pytest.raises(KeyError, match="mlp"):
        load_topic("transformers")


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "shapes", "sequences", "mnist"])
def test_every_data_set_has_a_card(name):
    text = card(name)
    assert text.startswith(f"# {name}\n")
    for section in ("**What.**", "**Source.**", "**Licence.**", "**Loader.**"):
        assert section in text, f"card {name} lacks {section}"
    assert "(batch," in text, f"card {name} gives no shapes"


def test_unknown_card_names_the_cards_there_are():
    with pytest.raises(KeyError, match="digits"):
        card("imagenet")


def test_docstring_examples_run():
    for module in ("autograder.datasets", "autograder.datasets._base", "autograder.datasets._bundled",
                   "autograder.datasets._generated"):
        result = doctest.testmod(importlib.import_module(module))
        assert result.failed == 0 and result.attempted > 0, module


# ----- mnist.npz -------------------------------------------------------------------------------------------------

def _write_mnist(path, n_train=24, n_test=6, **override):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return arrays


def test_mnist_loader_reads_the_standard_format(tmp_path):
    path = tmp_path / "mnist.npz"
    raw = _write_mnist(path)
    data = load_mnist(path, val_fraction=0.25)
    assert data.X_train.shape == (18, 28, 28, 1) and data.X_val.shape == (6, 28, 28, 1)
    assert data.X_test.shape == (6, 28, 28, 1)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    # Pixels scaled to [0, 1]; validation is the last part of the training images, in order.
    np.testing.assert_allclose(data.X_train[..., 0] * 255, raw["x_train"][:18], atol=1e-4)
    np.testing.assert_allclose(data.X_val[..., 0] * 255, raw["x_train"][18:], atol=1e-4)
    np.testing.assert_array_equal(data.y_val, raw["y_train"][18:])
    np.testing.assert_allclose(data.X_test[..., 0] * 255, raw["x_test"], atol=1e-4)
    np.testing.assert_array_equal(data.y_test, raw["y_test"])
    assert load_mnist(str(path)).X_train.shape == (22, 28, 28, 1)  # default: 1/12 of 24 = 2 for validation


def test_mnist_missing_file_says_it_never_downloads(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_mnist(tmp_path / "nowhere" / "mnist.npz")


def test_mnist_missing_key_is_named(tmp_path):
    path = tmp_path / "mnist.npz"
    _write_mnist(path, y_test=None)
    with pytest.raises(ValueError, match="missing key\\(s\\) y_test"):
        load_mnist(path)


@pytest.mark.parametrize(("override", "match"), [
    ({"x_train": np.zeros((24, 784), dtype=np.uint8)}, "x_train must be uint8 images"),
    ({"x_test": np.zeros((6, 28, 28), dtype=np.float32)}, "x_test must be uint8 images"),
    ({"y_train": np.zeros(5, dtype=np.uint8)}, "y_train must have shape \\(24,\\)"),
])
def test_mnist_malformed_arrays_are_clear_errors(tmp_path, override, match):
    path = tmp_path / "mnist.npz"
    _write_mnist(path, **override)
    with pytest.raises(ValueError, match=match):
        load_mnist(path)


def test_package_exports_what_it_documents():
    for name in datasets.__all__:
        assert hasattr(datasets, name), name
