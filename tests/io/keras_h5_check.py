"""h5py's (and PyTorch's) view of the Keras files Ember writes in tests/io/keras_h5_test.cpp.

Usage:
  keras_h5_check.py model FILE.h5 EXPECTED.json
      FILE.h5 is Model::save of the test's model (Dense 4->5 relu, BatchNormalization, Dropout,
      Dense 3 softmax, named mlp / d1 / bn / drop / d2); checks Keras 2's layout attribute by
      attribute (types as Keras/h5py write them), then recomputes the predictions in PyTorch from
      the weights h5py reads and compares them with Ember's (EXPECTED.json: input, output).
  keras_h5_check.py split FILE.h5 N LEN
      FILE.h5 has, at the root, Ember's save_name_list("names", N names of LEN bytes); checks that
      it holds exactly the attributes Keras's save_attributes_to_hdf5_group writes for that list.
Exit status 0 when everything agrees, 1 with the differences listed.
"""
import json
import sys

import h5py
import numpy as np

problems = []


def check(what, got, want):
    if isinstance(want, np.ndarray):
        ok = isinstance(got, np.ndarray) and got.dtype == want.dtype and np.array_equal(got, want)
    else:
        ok = got == want
    if not ok:
        problems.append(f"{what}: h5py reads {got!r}, expected {want!r}")


def attr_type(obj, name):
    t = obj.attrs.get_id(name).get_type()
    if isinstance(t, h5py.h5t.TypeStringID):
        return ("vlen" if t.is_variable_str() else "fixed", "utf8" if t.get_cset() == h5py.h5t.CSET_UTF8 else "ascii")
    return type(t).__name__


def keras_split(names):
    """keras's save_attributes_to_hdf5_group, into a dict name -> array."""
    data = np.asarray([n.encode("utf8") for n in names])
    k = 1
    parts = np.array_split(data, k)
    while any(x.nbytes > 64512 for x in parts):
        k += 1
        parts = np.array_split(data, k)
    return {"names": data} if k == 1 else {"names%d" % i: p for i, p in enumerate(parts)}


def check_model(path, expected_path):
    import torch  # only here: the split check runs without it, and importing torch takes seconds
    exp = json.load(open(expected_path))
    with h5py.File(path, "r") as f:
        check("root attrs", sorted(f.attrs.keys()), ["backend", "keras_version", "model_config"])
        check("keras_version type", attr_type(f, "keras_version"), ("vlen", "utf8"))
        check("backend", f.attrs["backend"], "tensorflow")
        check("model_config type", attr_type(f, "model_config"), ("vlen", "ascii"))
        config = json.loads(f.attrs["model_config"])
        check("model class", config["class_name"], "Sequential")
        check("model layers", [l["class_name"] for l in config["config"]["layers"]],
              ["InputLayer", "Dense", "BatchNormalization", "Dropout", "Dense"])
        check("groups", list(f.keys()), ["model_weights"])
        mw = f["model_weights"]
        check("layer_names", mw.attrs["layer_names"], np.array([b"d1", b"bn", b"drop", b"d2"]))
        check("model_weights backend", mw.attrs["backend"], "tensorflow")
        check("model_weights backend type", attr_type(mw, "backend"), ("vlen", "ascii"))
        check("model_weights keras_version type", attr_type(mw, "keras_version"), ("vlen", "ascii"))
        check("layer groups", list(mw.keys()), ["bn", "d1", "d2", "drop"])
        check("d1 weight_names", mw["d1"].attrs["weight_names"], np.array([b"d1/kernel:0", b"d1/bias:0"]))
        check("bn weight_names", mw["bn"].attrs["weight_names"],
              np.array([b"bn/gamma:0", b"bn/beta:0", b"bn/moving_mean:0", b"bn/moving_variance:0"]))
        check("drop weight_names (empty, as Keras)", mw["drop"].attrs["weight_names"], np.zeros((0,), dtype=np.float64))
        visited = []
        mw.visit(visited.append)
        check("model_weights visit", visited, ["bn", "bn/bn", "bn/bn/beta:0", "bn/bn/gamma:0", "bn/bn/moving_mean:0",
                                               "bn/bn/moving_variance:0", "d1", "d1/d1", "d1/d1/bias:0", "d1/d1/kernel:0",
                                               "d2", "d2/d2", "d2/d2/bias:0", "d2/d2/kernel:0", "drop"])
        w = {k: torch.from_numpy(np.asarray(mw[k][()], dtype=np.float64)) for k in
             ["d1/d1/kernel:0", "d1/d1/bias:0", "bn/bn/gamma:0", "bn/bn/beta:0", "bn/bn/moving_mean:0",
              "bn/bn/moving_variance:0", "d2/d2/kernel:0", "d2/d2/bias:0"]}
        check("d1 kernel dtype/shape", (mw["d1/d1/kernel:0"].dtype.str, mw["d1/d1/kernel:0"].shape), ("<f4", (4, 5)))
    x = torch.tensor(exp["input"], dtype=torch.float64)
    h = torch.relu(x @ w["d1/d1/kernel:0"] + w["d1/d1/bias:0"])
    h = (h - w["bn/bn/moving_mean:0"]) / torch.sqrt(w["bn/bn/moving_variance:0"] + 0.001) * w["bn/bn/gamma:0"] + w["bn/bn/beta:0"]
    y = torch.softmax(h @ w["d2/d2/kernel:0"] + w["d2/d2/bias:0"], dim=1)
    diff = (y - torch.tensor(exp["output"], dtype=torch.float64)).abs().max().item()
    if not diff <= 1e-5:
        problems.append(f"predictions from the weights h5py reads differ from Ember's by {diff}")


def check_split(path, n, length):
    names = ["n%05d" % i + "y" * (length - 6) for i in range(n)]
    want = keras_split(names)
    with h5py.File(path, "r") as f:
        check("split attributes", sorted(f.attrs.keys()), sorted(want.keys()))
        for k, v in want.items():
            if k in f.attrs:
                check("attribute " + k, f.attrs[k], v)


if sys.argv[1] == "model":
    check_model(sys.argv[2], sys.argv[3])
else:
    check_split(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("keras_h5_check " + sys.argv[1] + ": Ember's file agrees")
