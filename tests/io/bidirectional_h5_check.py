"""h5py's view of a Keras .h5 file with Bidirectional layers that Ember wrote (tests/io/bidirectional_h5_test.cpp).

Usage: bidirectional_h5_check.py FILE.h5 FEATURES
  FILE.h5 is Model::save of a Sequential of Bidirectional(LSTM / GRU / SimpleRNN) and Dense layers on
  inputs [batch, time, FEATURES]. For each Bidirectional layer the group model_weights/<name> must list
  in weight_names exactly the names tf.keras 2.x writes (keras_names in
  tests/fixtures/gen/bidirectional_h5.py: <wrapper>/forward_<inner>/<cell>/kernel:0, ... then backward_),
  each a dataset at model_weights/<name>/<weight name> of Keras's shape (kernel [in, k units],
  recurrent_kernel [units, k units], bias [k units] or GRU reset_after's [2, 3 units]).
Prints every dataset with its shape; exit status 0 when everything agrees, 1 with the differences.
"""
import json
import os
import sys

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gen"))
from bidirectional_h5 import keras_names  # noqa: E402  (the Keras naming rule, shared with the generator)

GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def main(path, features):
    problems = []
    with h5py.File(path, "r") as f:
        weights = f["model_weights"]
        weights.visititems(lambda n, o: print(n, o.shape) if isinstance(o, h5py.Dataset) else None)
        layers = json.loads(f.attrs["model_config"])["config"]["layers"]
        for entry in layers:
            cls, c = entry["class_name"], entry["config"]
            if cls == "Bidirectional":
                inner = c["layer"]
                icls, iconf = inner["class_name"], inner["config"]
                units, k = iconf["units"], GATES[icls]
                bias = [2, 3 * units] if icls == "GRU" and iconf.get("reset_after", True) else [k * units]
                shapes = [[features, k * units], [units, k * units], bias] * 2
                want = keras_names(c["name"], icls, iconf["name"])
                g = weights[c["name"]]
                got = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
                if got != want:
                    problems.append(f"{c['name']}: weight_names {got}, Keras writes {want}")
                for name, shape in zip(want, shapes):
                    if name not in g:
                        problems.append(f"{c['name']}: no dataset {name}")
                    elif list(g[name].shape) != shape:
                        problems.append(f"{c['name']}/{name}: shape {list(g[name].shape)}, Keras's is {shape}")
                features = 2 * units if c.get("merge_mode", "concat") == "concat" else units
            elif cls == "Dense":
                features = c["units"]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
