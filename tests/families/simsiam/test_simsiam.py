"""The SimSiam family: augmentations per image, the stop-gradient, kNN, bad specs."""

import pytest
import torch
from specs import one_run_spec
from torch.nn import functional as F

from report_builder.data import subset
from report_builder.errors import ReportBuilderError
from report_builder.families import simsiam as family
from report_builder.families.simsiam.network import SimSiam
from report_builder.spec import load_spec
from report_builder.train import as_float


def test_augmentations_are_drawn_per_image_and_fixed_by_the_seed(tiny):
    image = as_float(tiny.train_images[:1])
    batch = image.repeat(8, 1, 1, 1)  # eight copies of one image
    params = family.Params()
    torch.manual_seed(0)
    first = family.augment(batch, params)
    assert not torch.equal(first[0], first[1])  # two images, two transforms
    assert len({tuple(view.flatten().tolist()) for view in first}) == 8
    torch.manual_seed(0)
    assert torch.equal(family.augment(batch, params), first)
    assert first.min() >= 0 and first.max() <= 1 and first.shape == batch.shape


def test_the_two_views_of_an_image_are_augmented_apart(tiny):
    batch = as_float(tiny.train_images[:8])
    torch.manual_seed(0)
    first, second = family.views(batch, family.Params())
    assert first.shape == second.shape == batch.shape
    assert all(not torch.equal(a, b) for a, b in zip(first, second, strict=True))
    torch.manual_seed(0)
    assert torch.equal(family.views(batch, family.Params())[1], second)


def test_pooling_before_the_relu_computes_what_relu_then_pool_does():
    torch.manual_seed(0)
    net = SimSiam(dim=16, predictor_dim=4)
    layers = list(net.encoder)
    assert [type(layer).__name__ for layer in layers[2:4]] == ["MaxPool2d", "ReLU"]
    as_written = torch.nn.Sequential(*layers[:2], layers[3], layers[2], *layers[4:6],
                                     layers[7], layers[6], *layers[8:])  # ReLU, then pool
    x = torch.rand(8, 1, 28, 28, requires_grad=True)
    ours, theirs = net.encoder(x), as_written(x)
    assert torch.equal(ours, theirs)
    assert torch.equal(*(torch.autograd.grad(y.sum(), x)[0] for y in (ours, theirs)))


def test_the_stop_gradient_sends_no_gradient_through_the_target_branch():
    torch.manual_seed(0)
    x1, x2 = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28)

    def gradients(net: SimSiam, loss) -> list[torch.Tensor]:
        net.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in net.parameters()]

    net = SimSiam(dim=16, predictor_dim=4)
    ours = gradients(net, net.loss(x1, x2)["loss"])
    # By hand: the target projections are constants.
    z1, z2 = net.projector(net.encoder(x1)), net.projector(net.encoder(x2))
    by_hand = -(F.cosine_similarity(net.predictor(z1), z2.detach()).mean()
                + F.cosine_similarity(net.predictor(z2), z1.detach()).mean()) / 2
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ours, gradients(net, by_hand),
                                                                 strict=True))
    net.stop_gradient = False  # the same network and views, with the gradient let through
    through = gradients(net, net.loss(x1, x2)["loss"])
    assert any(not torch.allclose(a, b, atol=1e-6) for a, b in zip(ours, through, strict=True))


def test_knn_votes_by_weighted_similarity():
    memory = F.normalize(torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), dim=1)
    labels = torch.tensor([0, 0, 1])
    queries = F.normalize(torch.tensor([[1.0, 0.05], [0.1, 1.0]]), dim=1)
    assert family.knn_accuracy(memory, labels, queries, torch.tensor([0, 1]), 1, 0.1) == 1.0
    assert family.knn_accuracy(memory, labels, queries, torch.tensor([1, 1]), 1, 0.1) == 0.5


def test_k_larger_than_the_memory_bank_fails_before_training(tiny):
    small = subset(tiny, 30, 10)
    with pytest.raises(ReportBuilderError, match="knn_k 50 is larger than the kNN memory bank "
                                                 r"\(30 training images\)"):
        family.check_data(family.Params(knn_k=50), small)


def test_an_unknown_augmentation_names_the_field(tmp_path):
    path = one_run_spec(tmp_path, "simsiam",
                        "{family: simsiam, epochs: 2, augmentations: [crop, flip]}")
    with pytest.raises(ReportBuilderError, match=r"runs\.simsiam: augmentations\.1: Input should "
                                                 r"be 'crop', 'affine', 'noise' or 'blur'"):
        load_spec("simsiam", path)


def test_a_longer_run_never_continues_a_shorter_one(tmp_path, tiny):
    from report_builder.runs import RunConfig, RunStore

    store = RunStore(tmp_path)
    small = {"dim": 16, "predictor_dim": 4, "knn_k": 5}
    short = store.get("short", RunConfig.make("simsiam", 1, lr=0.05, **small), tiny, "cpu")
    seen = []
    longer = store.get("long", RunConfig.make("simsiam", 2, lr=0.05, **small), tiny, "cpu",
                       on_batch=lambda epoch, step, losses: seen.append(epoch))
    assert set(seen) == {0, 1}  # the cosine over 2 epochs is not the one over 1, continued
    assert longer.history["loss"][:4] != short.history["loss"]
    assert len(longer.epoch_history["knn_accuracy"]) == 2


def test_a_run_trained_in_slices_follows_the_same_cosine_as_one_in_one_go(tmp_path, tiny):
    """The schedule reads the run's total epochs, not the end of the slice being trained."""
    from report_builder.runs import RunConfig, RunStore, run_key

    config = RunConfig.make("simsiam", 3, lr=0.1, dim=16, predictor_dim=4, knn_k=5)
    store = RunStore(tmp_path)
    while store.advance("sliced", config, tiny, "cpu", max_epochs=1) != "finished":
        pass
    sliced = store.load("sliced", run_key(config, tiny), config, "cpu")
    whole = RunStore(tmp_path / "whole").get("whole", config, tiny, "cpu")
    assert sliced.history == whole.history and sliced.epoch_history == whole.epoch_history


def test_effective_rank_counts_the_directions_the_vectors_use():
    torch.manual_seed(0)
    cloud = torch.randn(2000, 16)
    assert 14 < family.effective_rank(cloud) <= 16
    on_a_line = torch.randn(2000, 1) * torch.randn(1, 16) + torch.randn(1, 16)  # offset too
    assert family.effective_rank(on_a_line) == pytest.approx(1, abs=1e-4)
    on_a_plane = torch.randn(2000, 2) @ torch.randn(2, 16)
    assert 1.3 < family.effective_rank(on_a_plane) <= 2


def test_outputs_on_one_line_hide_from_the_batch_std_but_not_from_eval_mode():
    """The issue's case: the projector's last batch norm rescales each training batch, so the
    paper's indicator over a batch stays high while every output lies on one line."""
    torch.manual_seed(0)
    net = SimSiam(dim=16, predictor_dim=4)
    images = torch.rand(256, 1, 28, 28)
    last = net.projector[-2]  # the linear layer before the output batch norm
    with torch.no_grad():
        last.weight.copy_(torch.randn(16, 1) @ torch.randn(1, 16))  # rank 1
    net.train()
    for _ in range(50):  # the running statistics of the batch norms settle
        net.projector(net.encoder(images))
    batch_std = net.loss(images, images)["batch_output_std"].item()
    assert batch_std > 0.5 / 16 ** 0.5  # "healthy" by the paper's indicator
    assert family.effective_rank(family.outputs(net, images)) < 1.5  # one line, in eval mode


def test_a_fixed_predictor_lr_keeps_the_predictor_off_the_cosine():
    torch.manual_seed(0)
    params = family.Params(dim=16, predictor_dim=4, predictor_lr="fixed")
    models = family.build(params)
    optimizer = family.optimizers(models, params, 0.1)["model"]
    family.cosine_lr(optimizer, type("Fit", (), {"epoch": 5, "epochs": 10})())
    rest, predictor = optimizer.param_groups
    assert rest["lr"] == pytest.approx(0.05) and predictor["lr"] == 0.1
    ours = models["model"].predictor.parameters()
    assert {id(p) for p in predictor["params"]} == {id(p) for p in ours}
    identity = family.Params(dim=16, predictor="identity", predictor_lr="fixed")
    assert len(family.optimizers(family.build(identity), identity, 0.1)["model"].param_groups) == 1


def test_a_crop_scale_outside_the_image_names_the_field(tmp_path):
    path = one_run_spec(tmp_path, "simsiam",
                        "{family: simsiam, epochs: 2, crop_scale: [0.5, 1.2]}")
    with pytest.raises(ReportBuilderError,
                       match=r"runs\.simsiam: crop_scale: .*0 < min <= max <= 1"):
        load_spec("simsiam", path)


class PointPlusJitter(torch.nn.Module):
    """A projector layer whose outputs all lie near one point: c + 0.03 · (a linear map)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.point = torch.randn(n_out)
        self.jitter = torch.nn.Linear(n_in, n_out, bias=False)

    def forward(self, x):
        return self.point + 0.03 * self.jitter(x)


def test_outputs_shrunk_onto_one_point_are_seen_before_the_last_batch_norm():
    """After the last batch norm (eval mode too) the jitter is rescaled to unit variance and
    looks like a healthy spread; before it the outputs are one point."""
    torch.manual_seed(0)
    net = SimSiam(dim=16, predictor_dim=4)
    net.projector[-2] = PointPlusJitter(16, 16)
    images = torch.rand(256, 1, 28, 28)
    net.train()
    for _ in range(50):  # the running statistics of the batch norms settle
        net.projector(net.encoder(images))
    net.eval()
    with torch.no_grad():
        after = F.normalize(net.projector(net.encoder(images)), dim=1)
    assert family.spread(after) > 0.5 / 16 ** 0.5  # healthy, to a measure taken after it
    assert family.spread(family.outputs(net, images)) < 0.05 / 16 ** 0.5  # one point


def test_the_global_average_is_the_pool_and_keeps_its_gradient_channels_last():
    from torch import nn

    from report_builder.families.simsiam.network import GlobalAverage

    x = torch.randn(4, 8, 7, 7).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    pooled = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())(x)
    torch.testing.assert_close(GlobalAverage()(x), pooled)
    GlobalAverage()(x).square().sum().backward()
    assert x.grad.is_contiguous(memory_format=torch.channels_last)
