# Scores a saved `ember train --model fmnist-resnet --out DIR` run (DIR/model.h5) on the
# Fashion-MNIST test split with several test-time augmentations, in PyTorch: the architecture is
# rebuilt here from the Keras weights (TF "SAME" padding, BN epsilon 1e-5), so the plain and flip
# lines are an independent check of Ember's reported accuracy.
#
#   /usr/bin/python3 bench/fmnist_resnet_tta.py DIR/model.h5
import os, sys, gzip, numpy as np, h5py, torch, torch.nn.functional as F
torch.set_num_threads(2)
f = h5py.File(sys.argv[1], 'r')['model_weights']
layers = [n.decode() if isinstance(n, bytes) else n for n in f.attrs['layer_names']]
pooled = 'stage2_pool' in layers
def w(layer, name): return torch.tensor(np.array(f[layer][layer][name + ':0']))
def conv(x, layer, stride=1):
    k = w(layer, 'kernel').permute(3, 2, 0, 1)  # HWIO -> OIHW
    kh = k.shape[2]
    n = x.shape[2]
    out = (n + stride - 1) // stride
    total = max((out - 1) * stride + kh - n, 0)
    lo, hi = total // 2, total - total // 2
    x = F.pad(x, (lo, hi, lo, hi))
    return F.conv2d(x, k, stride=stride)
def bn(x, layer):
    return F.batch_norm(x, w(layer, 'moving_mean'), w(layer, 'moving_variance'), w(layer, 'gamma'), w(layer, 'beta'), False, 0.0, 1e-5)
def block(x, name, stride, project):
    s = bn(conv(x, name + '_proj_conv', stride), name + '_proj_bn') if project else x
    y = F.relu(bn(conv(x, name + '_1_conv', stride), name + '_1_bn'))
    y = bn(conv(y, name + '_2_conv'), name + '_2_bn')
    return F.relu(s + y)
def model(x):
    x = F.relu(bn(conv(x, 'stem_conv'), 'stem_bn'))
    if 'stem2_conv' in layers:  # the second stem convolution, in the model since stop 47
        x = F.relu(bn(conv(x, 'stem2_conv'), 'stem2_bn'))
    x = F.max_pool2d(x, 2)
    x = block(x, 'stage1_block1', 1, True); x = block(x, 'stage1_block2', 1, False)
    if pooled:  # the network since the average-pool change: pool, then stride-1 convolutions
        x = block(F.avg_pool2d(x, 2), 'stage2_block1', 1, True)
    else:  # runs saved before it: ResNet's stride-2 convolutions
        x = block(x, 'stage2_block1', 2, True)
    x = block(x, 'stage2_block2', 1, False)
    x = x.mean((2, 3))
    return x @ w('logits', 'kernel') + w('logits', 'bias')
def idx(p):
    d = gzip.open(p).read()
    return np.frombuffer(d, np.uint8, offset=16 if d[3] == 3 else 8)
# As `ember train --data fashion-mnist`: $EMBER_DATA/fashion-mnist when it exists, else Debian's package.
root = '/usr/share/datasets/fashion-mnist/'
if os.path.isdir(os.path.join(os.environ.get('EMBER_DATA', ''), 'fashion-mnist')):
    root = os.path.join(os.environ['EMBER_DATA'], 'fashion-mnist') + '/'
x = torch.tensor(idx(root + 't10k-images-idx3-ubyte.gz').reshape(-1, 1, 28, 28).astype(np.float32) / 255)
y = torch.tensor(idx(root + 't10k-labels-idx1-ubyte.gz').astype(np.int64))
def prob(x):
    with torch.no_grad():
        return torch.cat([F.softmax(model(x[i:i + 500]), -1) for i in range(0, len(x), 500)])
def shift(x, dy, dx):  # zero fill
    out = torch.zeros_like(x)
    H = x.shape[2]
    ys, yd = (slice(0, H - dy), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, H + dy))
    xs, xd = (slice(0, H - dx), slice(dx, H)) if dx >= 0 else (slice(-dx, H), slice(0, H + dx))
    out[:, :, yd, xd] = x[:, :, ys, xs]
    return out
acc = lambda p: (p.argmax(-1) == y).float().mean().item()
p0 = prob(x); pf = prob(x.flip(3))
print('plain', acc(p0), 'flip', acc((p0 + pf) / 2))
shifts = [(0, 1), (0, -1), (1, 0), (-1, 0)]
ps = [prob(shift(x, a, b)) for a, b in shifts]
pfs = [prob(shift(x.flip(3), a, b)) for a, b in shifts]
print('flip + 4 one-px shifts', acc((p0 + pf + sum(ps) + sum(pfs)) / 10))
print('flip + 4 shifts (shifts weighted half)', acc(p0 + pf + 0.5 * (sum(ps) + sum(pfs)) / 4))
