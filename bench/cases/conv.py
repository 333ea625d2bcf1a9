"""ResNet-style convolutions (forward, and forward+backward), pooling and resampling."""
import torch
import torch.nn.functional as F


def _fwd_bwd(conv_kwargs):
    def run(x, w, g):
        x = x.detach().requires_grad_()
        w = w.detach().requires_grad_()
        y = F.conv2d(x, w, **conv_kwargs)
        y.backward(g)
        return w.grad
    return run


def _bias_grad(g, x, w):
    """The bias gradient alone (convolution_backward's third output)."""
    return torch.ops.aten.convolution_backward(g, x, w, [w.shape[0]], [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                                               [False, False, True])[2]


def cases():
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    x64, w64 = r(16, 64, 56, 56), r(64, 64, 3, 3) * 0.05
    x3, w7 = r(16, 3, 224, 224), r(64, 3, 7, 7) * 0.05
    x256, w1 = r(16, 256, 56, 56), r(64, 256, 1, 1) * 0.05
    return [
        ("conv2d 3x3 64ch f32", lambda x, w: F.conv2d(x, w, padding=1), (x64, w64)),
        ("conv2d 3x3 64ch bf16", lambda x, w: F.conv2d(x, w, padding=1), (x64.bfloat16(), w64.bfloat16())),
        ("conv2d 7x7 s2 3ch f32", lambda x, w: F.conv2d(x, w, stride=2, padding=3), (x3, w7)),
        ("conv2d 1x1 256->64 f32", lambda x, w: F.conv2d(x, w), (x256, w1)),
        # First layers: one to three input channels, few products per output.
        ("conv2d 3x3 3->64 f32 16x16 maps", lambda x, w: F.conv2d(x, w, padding=1),
         (r(64, 3, 16, 16), r(64, 3, 3, 3) * 0.2)),
        ("conv2d 3x3 1->16 f32 8x8 maps", lambda x, w: F.conv2d(x, w, padding=1),
         (r(256, 1, 8, 8), r(16, 1, 3, 3) * 0.2)),
        ("conv2d 3x3 fwd+bwd f32", _fwd_bwd(dict(padding=1)), (x64, w64, r(16, 64, 56, 56))),
        ("max_pool2d 3x3 s2 f32", lambda x: F.max_pool2d(x, 3, 2, 1), (x64,)),
        ("adaptive_avg_pool2d 7 f32", lambda x: F.adaptive_avg_pool2d(x, 7), (x256,)),
        ("upsample bilinear x2 f32", lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), (x64,)),
        # The small CNN's maps (examples/vision.py): many 8x8 and 4x4 planes.
        ("max_pool2d 2x2 8x8 maps f32", lambda x: F.max_pool2d(x, 2), (r(256, 16, 8, 8),)),
        ("adaptive_avg_pool2d 4x4->2 f32", lambda x: F.adaptive_avg_pool2d(x, 2), (r(256, 32, 4, 4),)),
        ("conv2d bias grad 16ch 8x8 maps f32", _bias_grad, (r(64, 16, 8, 8), r(64, 1, 8, 8), r(16, 1, 3, 3))),
    ]
