import numpy as np
import pytest
import torch

from chestaid_train import cam, model as model_lib


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    m = model_lib.build_model("none", trainable="all").eval()
    # A random head gives maps of both signs, so the ReLU and normalisation are exercised.
    torch.nn.init.normal_(m.classifier.weight, std=0.5)
    return m


def test_exported_cam_equals_autograd_gradcam(net):
    x = torch.randn(3, 3, 224, 224)
    with torch.no_grad():
        _, fast = cam.LogitAndCam(net)(x)
    reference = cam.gradcam_autograd(net, x)
    assert tuple(fast.shape) == (3, 7, 7)
    assert float((fast - reference).abs().max()) <= 1e-5
    for i in range(3):
        diff = np.abs(cam.normalise(fast[i].numpy()) - cam.normalise(reference[i].numpy())).max()
        assert diff <= 1e-5


def test_logit_matches_the_plain_model(net):
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        logit, _ = cam.LogitAndCam(net)(x)
        assert torch.allclose(logit, net(x), atol=1e-5)


def test_hooking_norm5_before_the_relu_would_give_another_map(net):
    # Why the wrapper recomputes the ReLU: the pre-ReLU activations give a different map.
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        pre = net.features(x)
        _, ours = cam.LogitAndCam(net)(x)
    w = net.classifier.weight[0] / 49
    wrong = torch.relu(torch.einsum("k,nkhw->nhw", w, pre))
    assert float((wrong - ours).abs().max()) > 1e-4


def test_normalise_keeps_an_all_zero_map_finite():
    out = cam.normalise(np.zeros((7, 7)))
    assert np.isfinite(out).all() and out.max() == 0


def test_normalise_scales_the_peak_to_one_and_clips_negatives():
    m = np.array([[-1.0, 0.5], [2.0, 1.0]])
    out = cam.normalise(m)
    assert out.max() == 1 and out.min() == 0 and out[0, 1] == pytest.approx(0.25)


def test_upsample_keeps_range_and_size():
    m = cam.normalise(np.random.default_rng(0).random((7, 7)))
    up = cam.upsample(m, 300, 250)
    assert up.shape == (300, 250) and up.min() >= 0 and up.max() <= 1


def test_pointing_game_counts_peaks_inside_the_mask():
    hit = np.zeros((7, 7), np.float32)
    hit[1, 1] = 1
    miss = np.zeros((7, 7), np.float32)
    miss[5, 5] = 1
    mask = np.zeros((70, 70), bool)
    mask[5:25, 5:25] = True
    assert cam.pointing_game([hit, miss], [mask, mask]) == 0.5
