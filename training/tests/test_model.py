import pytest
import torch

from chestaid_train import model as model_lib


def test_head_is_a_single_logit():
    net = model_lib.build_model("none").eval()
    with torch.no_grad():
        assert tuple(net(torch.zeros(2, 3, 64, 64)).shape) == (2, 1)


def test_offline_without_a_weights_file_says_so_and_offers_weights_none(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(model_lib.WeightsUnavailable, match="--weights none"):
        model_lib.build_model("imagenet")


def test_download_is_attempted_only_when_allowed_and_fails_clearly_offline(tmp_path, monkeypatch):
    import urllib.error

    calls = []

    def offline(url, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(model_lib.WeightsUnavailable):
        model_lib.build_model("imagenet")
    assert calls == []
    with pytest.raises(model_lib.WeightsUnavailable, match="could not download"):
        model_lib.build_model("imagenet", allow_download=True)


def test_loads_imagenet_weights_from_a_local_file(tmp_path):
    reference = model_lib.densenet121(weights=None)
    path = tmp_path / "w.pth"
    torch.save(reference.state_dict(), path)
    net = model_lib.build_model("imagenet", weights_file=str(path))
    assert torch.equal(net.features.conv0.weight, reference.features.conv0.weight)


def test_missing_weights_file_is_named(tmp_path):
    with pytest.raises(model_lib.WeightsUnavailable, match="nope.pth"):
        model_lib.build_model("imagenet", weights_file=str(tmp_path / "nope.pth"))


def test_unknown_block_name_is_refused():
    with pytest.raises(ValueError, match="denseblock9"):
        model_lib.build_model("none", trainable="denseblock9")


@pytest.mark.parametrize("trainable", ["denseblock4,norm5", "denseblock3,transition3,denseblock4,norm5", "all"])
def test_only_the_chosen_blocks_and_the_head_train(trainable):
    net = model_lib.build_model("none", trainable=trainable)
    chosen = set(model_lib.resolve_trainable(trainable))
    for name, module in net.features.named_children():
        assert all(p.requires_grad == (name in chosen) for p in module.parameters()), name
    assert all(p.requires_grad for p in net.classifier.parameters())


def test_frozen_blocks_keep_batchnorm_statistics_in_train_mode():
    net = model_lib.build_model("none", trainable="denseblock4,norm5")
    model_lib.set_train_mode(net, True)
    frozen_bn = net.features.denseblock1.denselayer1.norm1
    trained_bn = net.features.norm5
    before_frozen, before_trained = frozen_bn.running_mean.clone(), trained_bn.running_mean.clone()
    net(torch.randn(2, 3, 64, 64) * 3 + 1)
    assert not frozen_bn.training and torch.equal(frozen_bn.running_mean, before_frozen)
    assert trained_bn.training and not torch.equal(trained_bn.running_mean, before_trained)
