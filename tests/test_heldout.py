"""The held-out data of the training checks is data a student can't train on.

scikit-learn ships all 1797 digits, the grading split's held-out part included, so a plain held-out
part rewards whoever loads it: a lookup table (1-nearest-neighbour) of every digit scores 100 %.
The hidden mlp checks scramble the pixels by a secret permutation; these tests measure that the
lookup table then scores near the trivial baseline, that training on every plain digit as well gains
nothing over honest training, and that honest learning is not harmed at all (1-NN is blind to the
order of the pixels, as a Dense network is). The generated CNN and RNN sets draw their held-out part
from secret seeds (checked below too). Cheap: scikit-learn only, no TensorFlow.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits
from sklearn.neighbors import KNeighborsClassifier

from autograder.checking import linear_credit
from autograder.course import load
from autograder.datasets import PUBLIC_HELDOUT_SEED, load_digits, make_sequences, make_shapes

COURSE = load()


def _hidden_seed(topic: str) -> int:
    """The secret seed the hidden check file of ``topic`` sets (read, not imported: it needs the checks' path)."""
    tree = ast.parse(COURSE.check_file(topic, "hidden").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["HELDOUT_SEED"]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"no HELDOUT_SEED in the hidden checks of {topic}")


@pytest.fixture(scope="module")
def digits():
    seed = _hidden_seed("mlp")
    bunch = sk_load_digits()
    everything = ((bunch.data / 16.0).astype(np.float32), bunch.target)
    return load_digits(seed=seed), load_digits(seed=seed, scramble_seed=seed), everything


def _accuracy(model, X, y) -> float:
    return float(np.mean(model.predict(X) == y))


def test_the_hidden_mlp_checks_grade_scrambled_digits():
    source = COURSE.check_file("mlp", "hidden").read_text(encoding="utf-8")
    assert "scramble_seed=HELDOUT_SEED" in source


def test_a_lookup_table_of_scikit_learns_digits_scores_near_the_floor(digits):
    plain, scrambled, (X_all, y_all) = digits
    lookup = KNeighborsClassifier(1).fit(X_all, y_all)
    assert _accuracy(lookup, plain.X_test, plain.y_test) == 1.0  # the attack on plain digits: every answer known
    got = _accuracy(lookup, scrambled.X_test, scrambled.y_test)
    mlp = COURSE.topic("mlp")
    assert got < 0.2, f"a lookup table of plain digits scores {got:.3f} on the scrambled ones"
    assert linear_credit(got, mlp.accuracy_floor or 0.1, mlp.accuracy_bar) < 0.1


def test_training_on_every_plain_digit_too_gains_nothing(digits):
    _, scrambled, (X_all, y_all) = digits
    honest = KNeighborsClassifier(1).fit(scrambled.X_train, scrambled.y_train)
    greedy = KNeighborsClassifier(1).fit(np.vstack([scrambled.X_train, X_all]), np.concatenate([scrambled.y_train, y_all]))
    assert _accuracy(greedy, scrambled.X_test, scrambled.y_test) <= _accuracy(honest, scrambled.X_test, scrambled.y_test)


def test_scrambling_leaves_honest_learning_as_good(digits):
    plain, scrambled, _ = digits
    assert np.array_equal(plain.y_test, scrambled.y_test)
    a = _accuracy(KNeighborsClassifier(1).fit(plain.X_train, plain.y_train), plain.X_test, plain.y_test)
    b = _accuracy(KNeighborsClassifier(1).fit(scrambled.X_train, scrambled.y_train), scrambled.X_test, scrambled.y_test)
    assert a == b > 0.95
    # every image keeps its pixels, only their order changes, the same way for all
    assert np.array_equal(np.sort(plain.X_train, axis=1), np.sort(scrambled.X_train, axis=1))
    assert not np.array_equal(plain.X_train, scrambled.X_train)


def test_the_scramble_depends_on_its_seed_only():
    a, b = load_digits(scramble_seed=1), load_digits(scramble_seed=2)
    assert np.array_equal(a.X_train, load_digits(scramble_seed=1).X_train) and not np.array_equal(a.X_train, b.X_train)
    assert np.array_equal(a.y_train, load_digits().y_train)  # the split is the seed's, not the scramble's


@pytest.mark.parametrize("topic, make", [("cnn", make_shapes), ("rnn", make_sequences)])
def test_generated_held_out_sets_come_from_the_secret_seed(topic, make):
    seed = _hidden_seed(topic)
    assert seed != PUBLIC_HELDOUT_SEED
    source = COURSE.check_file(topic, "hidden").read_text(encoding="utf-8")
    assert "heldout_seed=HELDOUT_SEED" in source
    public, secret = make(n=50, n_test=50), make(n=50, n_test=50, heldout_seed=seed)
    assert np.array_equal(public.X_train, secret.X_train)  # students train on the public part
    assert not np.isclose(public.X_test[:, None], secret.X_test[None]).all(axis=tuple(range(2, public.X_test.ndim + 1))).any()
