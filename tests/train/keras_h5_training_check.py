"""h5py's view of the compiled state Ember writes into a Keras 2 .h5 model file
(tests/train/keras_h5_training_test.cpp): training_config JSON and /optimizer_weights, with the
names and types Keras 2's hdf5_format.py writes (save_optimizer_weights_to_hdf5_group).

Usage: keras_h5_training_check.py FILE.h5 ITERATIONS
  FILE.h5 is Model::save of Sequential(Input(4), Dense(5, name d1), Dense(3, name d2)) compiled with
  Adam(learning_rate=0.01), SparseCategoricalCrossentropy(from_logits=True), metrics ["accuracy"],
  after ITERATIONS optimizer steps.
Exit status 0 when everything agrees, 1 with the differences listed.
"""
import json
import sys

import h5py
import numpy as np

problems = []


def check(what, got, want):
    if got != want:
        problems.append(f"{what}: h5py reads {got!r}, expected {want!r}")


path, iterations = sys.argv[1], int(sys.argv[2])
with h5py.File(path, "r") as f:
    raw = f.attrs["training_config"]  # h5py 3 reads vlen strings as str
    # Keras stores json.dumps(...).encode("utf8"): bytes, which h5py writes as vlen ASCII strings.
    t = f.attrs.get_id("training_config").get_type()
    check("training_config is a vlen string", t.is_variable_str(), True)
    check("training_config charset", t.get_cset(), h5py.h5t.CSET_ASCII)
    tc = json.loads(raw if isinstance(raw, str) else raw.decode("utf8"))
    check("training_config keys", sorted(tc), ["loss", "loss_weights", "metrics", "optimizer_config", "weighted_metrics"])
    check("optimizer class", tc["optimizer_config"]["class_name"], "Adam")
    cfg = tc["optimizer_config"]["config"]
    check("learning_rate", cfg.get("learning_rate"), 0.01)
    check("beta_1", cfg.get("beta_1"), 0.9)
    check("beta_2", cfg.get("beta_2"), 0.999)
    check("epsilon", cfg.get("epsilon"), 1e-7)
    check("loss class", tc["loss"].get("class_name"), "SparseCategoricalCrossentropy")
    check("loss from_logits", tc["loss"]["config"].get("from_logits"), True)
    check("metrics", tc["metrics"], ["accuracy"])
    check("loss_weights", tc["loss_weights"], None)

    g = f["optimizer_weights"]
    names = [n.decode("utf8") for n in g.attrs["weight_names"]]
    want = ["Adam/iter:0"] + [f"Adam/{w}/{s}:0" for s in ("m", "v") for w in ("d1/kernel", "d1/bias", "d2/kernel", "d2/bias")]
    check("optimizer weight_names", names, want)
    shapes = {"d1/kernel": (4, 5), "d1/bias": (5,), "d2/kernel": (5, 3), "d2/bias": (3,)}
    it = g["Adam/iter:0"]
    check("iter shape", it.shape, ())
    check("iter dtype", str(it.dtype), "int64")
    check("iter value", int(it[()]), iterations)
    for n in want[1:]:
        d = g[n]
        w = n[len("Adam/"):n.rindex("/")]
        check(n + " shape", d.shape, shapes[w])
        check(n + " dtype", str(d.dtype), "float32")
        if n.endswith("/v:0") and not np.all(d[()] >= 0):
            problems.append(f"{n}: a second-moment slot with negative entries")

if problems:
    print("\n".join(problems))
    sys.exit(1)
