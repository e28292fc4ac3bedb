"""The Keras course's check helpers, shared by its check files (``from keras_helpers import ...``).

The grader puts the course's ``checks/`` folder on the import path while it runs the checks, so a
check file imports these like any module. They run on the trusted side; student objects stay in the
sandbox behind ``student``.
"""


def keras_budget(student, topic):
    """Building and compiling Keras models takes longer than a NumPy call (a builder may make the
    sandbox's first Keras call, which imports TensorFlow), most of all on a busy machine: give these
    calls the training budget instead of the plain call budget (``with keras_budget(student, topic):``)."""
    return student.budget(topic.train_budget)


def model_summary(student, model, call):
    """The sandbox's summary of ``model`` (layers, shapes, compiled or not); fails unless it is a keras.Model."""
    summary = student.probe("model_summary", model)
    assert summary["is_model"], f"{call} returned a {summary['type']}, not a keras.Model"
    return summary


def trained(student, function, split):
    """``(split, (model, seconds))``: the student's ``function`` (``train_mlp``...) trained on
    ``split``'s train part with seed 0, computed once per submission and shared by the checks."""

    def train():
        model = getattr(student, function)(split.X_train, split.y_train, 0)
        return model, student.last.duration

    return split, student.once(function, train)
