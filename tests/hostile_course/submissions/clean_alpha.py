import numpy as np


def double(x):
    return 2 * x


def spin():
    return 1


def leave():
    return 2


def hard_exit():
    return 3


def segfault():
    return 4


def memory():
    return 5


def flood():
    return 6


def spy(roots=()):
    return []


def scribble(targets=()):
    return 8


def fork():
    return 9


def close():
    return np.array([1.0, 2.5])
