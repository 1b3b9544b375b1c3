"""Generate the "nn_extra" operator goldens with real MXNet 1.9.1.

Run in the MXNet venv:
    MXNET_ENGINE_TYPE=NaiveEngine MXNET_SUBGRAPH_BACKEND=NONE \
        /work/mxvenv/bin/python tools/gen_ops_nn_fixtures.py

Writes tests/fixtures/ops/nn_extra.json and nn_extra.npz in the shared operator-golden format
(see the brief): per case the op, kwargs, input values, MXNet's list_*/infer_shape, forward outputs,
input gradients for random head gradients, and aux states after forward(is_train)+backward.
"""
from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "ops")
GROUP = "nn_extra"

# (id, op, kwargs, {input: shape}, is_train, extra)
# extra: "values": {arg: callable(rng, shape)}, "grad_skip": [...], "rtol"/"atol"/"grad": ...
CASES = []


def case(cid, op, kwargs, inputs, is_train=True, **extra):
    CASES.append((cid, op, kwargs, inputs, is_train, extra))


def _pos(rng, shape):
    return rng.uniform(0.5, 1.5, shape)


def _indices(n):
    return lambda rng, shape: rng.randint(0, n, shape).astype(np.float64)


def _near_identity(rng, shape):
    base = np.tile(np.array([0.9, 0.1, 0.05, -0.1, 0.8, -0.05]), (shape[0], 1))
    return base + rng.uniform(-0.15, 0.15, shape)


def _away_from_zero(rng, shape):
    x = rng.randn(*shape)
    return np.where(np.abs(x) < 0.05, 0.3, x)


# ---- norm -------------------------------------------------------------------------------------
BN_AUX = {"moving_var": _pos}
case("BatchNorm_default_train", "BatchNorm", {}, {"data": (3, 4, 5)}, True, aux=BN_AUX)
case("BatchNorm_nofix_train_4d", "BatchNorm", {"fix_gamma": False, "momentum": 0.8, "eps": 1e-4},
     {"data": (4, 3, 3, 2)}, True, aux=BN_AUX)
# MXNet compat: backward after an inference forward is not meaningful in MXNet (its BatchNorm
# backward mixes batch statistics into it), so inference cases record no gradients.
case("BatchNorm_nofix_eval", "BatchNorm", {"fix_gamma": False}, {"data": (3, 4, 5)}, False,
     aux=BN_AUX, grad=False)
case("BatchNorm_default_eval", "BatchNorm", {}, {"data": (3, 4, 5)}, False, aux=BN_AUX,
     grad=False)
case("BatchNorm_global_stats_train", "BatchNorm", {"fix_gamma": False, "use_global_stats": True},
     {"data": (3, 4, 5)}, True, aux=BN_AUX)
case("BatchNorm_axis_last_mean_var", "BatchNorm",
     {"axis": -1, "output_mean_var": True, "fix_gamma": False}, {"data": (2, 3, 5)}, True,
     aux=BN_AUX)
case("BatchNorm_mean_var_eval", "BatchNorm", {"output_mean_var": True},
     {"data": (3, 4, 3)}, False, aux=BN_AUX, grad=False)
case("BatchNorm_2d", "BatchNorm", {"fix_gamma": False}, {"data": (7, 3)}, True, aux=BN_AUX)
case("InstanceNorm_3d", "InstanceNorm", {}, {"data": (2, 3, 5)})
case("InstanceNorm_4d_eps", "InstanceNorm", {"eps": 1e-5}, {"data": (2, 3, 3, 2)})
case("LayerNorm_default", "LayerNorm", {}, {"data": (3, 5)})
case("LayerNorm_axis1", "LayerNorm", {"axis": 1, "eps": 1e-3}, {"data": (2, 5, 3)})
case("LayerNorm_mean_var", "LayerNorm", {"output_mean_var": True}, {"data": (2, 3, 4)})
case("L2Normalization_instance", "L2Normalization", {}, {"data": (3, 4, 2)})
case("L2Normalization_channel", "L2Normalization", {"mode": "channel"}, {"data": (2, 3, 2, 2)})
case("L2Normalization_spatial", "L2Normalization", {"mode": "spatial", "eps": 1e-3},
     {"data": (2, 3, 2, 3)})
case("LRN_n3", "LRN", {"nsize": 3}, {"data": (2, 5, 3, 3)})
case("LRN_n5_params", "LRN", {"nsize": 5, "alpha": 0.01, "beta": 0.5, "knorm": 1.0},
     {"data": (2, 7, 2, 2)})

# ---- layers -----------------------------------------------------------------------------------
AWAY = {"data": _away_from_zero}
case("LeakyReLU_leaky", "LeakyReLU", {"slope": 0.1}, {"data": (3, 4, 2)}, values=AWAY)
case("LeakyReLU_default", "LeakyReLU", {}, {"data": (3, 5)}, values=AWAY)
case("LeakyReLU_prelu", "LeakyReLU", {"act_type": "prelu"}, {"data": (3, 4, 2, 2)}, values=AWAY)
case("LeakyReLU_elu", "LeakyReLU", {"act_type": "elu", "slope": 0.7}, {"data": (3, 5)},
     values=AWAY)
case("LeakyReLU_selu", "LeakyReLU", {"act_type": "selu"}, {"data": (3, 5)}, values=AWAY)
case("LeakyReLU_gelu", "LeakyReLU", {"act_type": "gelu"}, {"data": (3, 5)})
# rrelu: training is random and MXNet leaves the visible `mask` output uninitialized in
# inference, so rrelu is checked in tests/test_ops_nn_extra.py instead.
case("Deconvolution_k3", "Deconvolution", {"kernel": (3, 3), "num_filter": 4},
     {"data": (2, 3, 4, 4)})
case("Deconvolution_k3_s2_p1_adj1_bias", "Deconvolution",
     {"kernel": (3, 3), "num_filter": 4, "stride": (2, 2), "pad": (1, 1), "adj": (1, 1),
      "no_bias": False}, {"data": (2, 3, 3, 3)})
case("Deconvolution_group2", "Deconvolution",
     {"kernel": (2, 3), "num_filter": 6, "stride": (2, 1), "num_group": 2},
     {"data": (2, 4, 3, 3)})
case("Deconvolution_1d", "Deconvolution", {"kernel": (3,), "num_filter": 2, "stride": (2,)},
     {"data": (2, 3, 5)})
case("Deconvolution_target_shape", "Deconvolution",
     {"kernel": (4, 4), "num_filter": 2, "stride": (2, 2), "target_shape": (8, 7)},
     {"data": (1, 2, 4, 4)}, mkldnn=False)
case("Deconvolution_dilate", "Deconvolution",
     {"kernel": (2, 2), "num_filter": 3, "dilate": (2, 2), "pad": (1, 0), "no_bias": False},
     {"data": (1, 2, 3, 4)}, mkldnn=False)
case("Embedding", "Embedding", {"input_dim": 7, "output_dim": 3}, {"data": (2, 4)},
     values={"data": _indices(7)}, grad_skip=["data"])
case("Embedding_3d", "Embedding", {"input_dim": 5, "output_dim": 4}, {"data": (2, 2, 3)},
     values={"data": _indices(5)}, grad_skip=["data"])
case("SoftmaxActivation_instance", "SoftmaxActivation", {}, {"data": (3, 5)})
case("SoftmaxActivation_instance_3d", "SoftmaxActivation", {}, {"data": (3, 4, 2)})
case("SoftmaxActivation_channel", "SoftmaxActivation", {"mode": "channel"}, {"data": (2, 4, 3)})
case("UpSampling_nearest", "UpSampling", {"scale": 2, "sample_type": "nearest", "num_args": 1},
     {"data": (2, 3, 3, 2)})
case("UpSampling_nearest_concat", "UpSampling",
     {"scale": 2, "sample_type": "nearest", "num_args": 2},
     {"a0": (2, 2, 4, 4), "a1": (2, 3, 2, 2)})
case("UpSampling_nearest_sum", "UpSampling",
     {"scale": 2, "sample_type": "nearest", "num_args": 2, "multi_input_mode": "sum"},
     {"a0": (2, 3, 2, 2), "a1": (2, 3, 4, 4)})
case("UpSampling_bilinear", "UpSampling",
     {"scale": 2, "sample_type": "bilinear", "num_args": 1, "num_filter": 3},
     {"data": (1, 3, 3, 3)})
case("UpSampling_bilinear_s3", "UpSampling",
     {"scale": 3, "sample_type": "bilinear", "num_args": 1, "num_filter": 2},
     {"data": (1, 2, 2, 3)})
case("SpatialTransformer", "SpatialTransformer",
     {"target_shape": (4, 5), "transform_type": "affine", "sampler_type": "bilinear"},
     {"data": (2, 3, 6, 5), "loc": (2, 6)}, values={"loc": _near_identity})
case("SpatialTransformer_zoom_out", "SpatialTransformer",
     {"target_shape": (5, 4), "transform_type": "affine", "sampler_type": "bilinear"},
     {"data": (1, 2, 4, 4), "loc": (1, 6)},
     values={"loc": lambda rng, s: _near_identity(rng, s) * 1.4})
case("GridGenerator_affine", "GridGenerator", {"transform_type": "affine",
                                               "target_shape": (3, 4)}, {"data": (2, 6)})
case("GridGenerator_warp", "GridGenerator", {"transform_type": "warp"}, {"data": (2, 2, 3, 4)})
case("BilinearSampler", "BilinearSampler", {}, {"data": (2, 3, 4, 5), "grid": (2, 2, 3, 3)},
     values={"grid": lambda rng, s: rng.uniform(-1.2, 1.2, s)})

# ---- shape ------------------------------------------------------------------------------------
case("Concat_dim1", "Concat", {}, {"a0": (2, 3, 2), "a1": (2, 1, 2), "a2": (2, 2, 2)})
case("Concat_dim0", "Concat", {"dim": 0}, {"a0": (2, 3), "a1": (1, 3)})
case("concat_dim_last", "concat", {"dim": -1}, {"a0": (2, 3), "a1": (2, 2)})
for i, (shape, rev) in enumerate([((0, -1), False), ((-1, 0), False), ((-3, 0), False),
                                   ((-4, 1, 2, -2), False), ((-4, -1, 1, 0, 0), False),
                                   ((-1, 0), True), ((-2,), False), ((4, -1), False),
                                   ((0, 0, 2, 2), False), ((-1, 3, 0), True)]):
    case(f"Reshape_{i}", "Reshape" if i % 2 else "reshape", {"shape": shape, "reverse": rev},
         {"data": (2, 3, 4)})
case("Reshape_legacy_target", "Reshape", {"target_shape": (6, 0)}, {"data": (2, 3, 4)})
case("Reshape_legacy_keep_highest", "Reshape", {"target_shape": (5, 12), "keep_highest": True},
     {"data": (2, 3, 4)})
case("transpose_default", "transpose", {}, {"data": (2, 3, 4)})
case("transpose_axes", "transpose", {"axes": (1, 0, 2)}, {"data": (2, 3, 4)})
case("expand_dims_1", "expand_dims", {"axis": 1}, {"data": (2, 3)})
case("expand_dims_neg", "expand_dims", {"axis": -1}, {"data": (2, 3)})
case("slice_axis_to_end", "slice_axis", {"axis": 1, "begin": 1, "end": None}, {"data": (2, 5, 3)})
case("slice_axis_neg", "slice_axis", {"axis": -1, "begin": -3, "end": -1}, {"data": (2, 3, 5)})
case("slice_basic", "slice", {"begin": (0, 1), "end": (None, 3)}, {"data": (3, 4, 2)})
case("slice_step", "slice", {"begin": (None, None), "end": (None, None), "step": (2, -1)},
     {"data": (5, 4)})
case("slice_neg_step", "slice", {"begin": (3, 1), "end": (0, None), "step": (-2, 2)},
     {"data": (5, 4)})
case("SliceChannel_3", "SliceChannel", {"num_outputs": 3}, {"data": (2, 6, 2)})
case("split_squeeze", "split", {"num_outputs": 2, "axis": 0, "squeeze_axis": True},
     {"data": (2, 3, 2)})
case("split_neg_axis", "split", {"num_outputs": 2, "axis": -1}, {"data": (2, 3, 4)})
case("Pad_constant", "Pad", {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1),
                             "constant_value": 0.5}, {"data": (1, 2, 3, 3)})
case("Pad_edge", "Pad", {"mode": "edge", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1)},
     {"data": (1, 2, 3, 3)})
case("Pad_reflect", "pad", {"mode": "reflect", "pad_width": (0, 0, 0, 0, 2, 1, 1, 2)},
     {"data": (1, 2, 3, 4)})
case("Pad_constant_5d", "Pad", {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 0, 0, 1, 1, 1)},
     {"data": (1, 2, 2, 2, 3)})
case("Crop_h_w", "Crop", {"num_args": 1, "h_w": (2, 3), "offset": (1, 1)}, {"data": (2, 2, 4, 5)})
case("Crop_center", "Crop", {"num_args": 1, "h_w": (2, 2), "center_crop": True},
     {"data": (1, 2, 5, 5)})
case("Crop_like", "Crop", {"num_args": 2, "offset": (1, 0)},
     {"data": (1, 2, 4, 5), "like": (1, 1, 2, 3)})
case("Crop_like_center", "Crop", {"num_args": 2, "center_crop": True},
     {"data": (1, 2, 5, 6), "like": (1, 3, 2, 3)})
case("_copy", "_copy", {}, {"data": (2, 3)})
case("identity", "identity", {}, {"data": (3, 2)})
case("swapaxes", "swapaxes", {"dim1": 0, "dim2": 2}, {"data": (2, 3, 4)})
case("SwapAxis_neg", "SwapAxis", {"dim1": 1, "dim2": -1}, {"data": (2, 3, 4)})
case("tile", "tile", {"reps": (2, 1, 3)}, {"data": (2, 3, 2)})
case("tile_short_reps", "tile", {"reps": (2,)}, {"data": (2, 3)})
case("tile_long_reps", "tile", {"reps": (2, 1, 2)}, {"data": (2, 3)})
case("repeat_axis", "repeat", {"repeats": 2, "axis": 1}, {"data": (2, 3)})
case("repeat_flat", "repeat", {"repeats": 3}, {"data": (2, 3)})
case("reverse", "reverse", {"axis": (1,)}, {"data": (2, 3, 4)})
case("flip_two_axes", "flip", {"axis": (0, 2)}, {"data": (2, 3, 4)})


# ---- sequences, GroupNorm, SVMOutput (appended: the seeds of the cases above stay) -------------
def _lengths(hi):
    return lambda rng, shape: rng.randint(1, hi + 1, shape).astype(np.float64)


case("SequenceMask_plain", "SequenceMask", {}, {"data": (4, 3, 2)})
case("SequenceMask_lengths", "SequenceMask", {"use_sequence_length": True, "value": -1.5},
     {"data": (4, 3, 2), "sequence_length": (3,)}, values={"sequence_length": _lengths(4)},
     grad_skip=["sequence_length"])
case("SequenceMask_batch_major", "SequenceMask", {"use_sequence_length": True, "axis": 1},
     {"data": (3, 5, 2), "sequence_length": (3,)}, values={"sequence_length": _lengths(5)},
     grad_skip=["sequence_length"])
case("SequenceLast_plain", "SequenceLast", {}, {"data": (4, 3, 2)})
case("SequenceLast_lengths", "SequenceLast", {"use_sequence_length": True},
     {"data": (5, 3, 2), "sequence_length": (3,)}, values={"sequence_length": _lengths(5)},
     grad_skip=["sequence_length"])
case("SequenceLast_batch_major", "SequenceLast", {"use_sequence_length": True, "axis": 1},
     {"data": (3, 4), "sequence_length": (3,)}, values={"sequence_length": _lengths(4)},
     grad_skip=["sequence_length"])
case("SequenceReverse_plain", "SequenceReverse", {}, {"data": (4, 2, 3)})
case("SequenceReverse_lengths", "SequenceReverse", {"use_sequence_length": True},
     {"data": (5, 3, 2), "sequence_length": (3,)}, values={"sequence_length": _lengths(5)},
     grad_skip=["sequence_length"])
case("GroupNorm_2groups", "GroupNorm", {"num_groups": 2}, {"data": (2, 4, 3)})
case("GroupNorm_4d_mean_var", "GroupNorm", {"num_groups": 3, "eps": 1e-3,
                                            "output_mean_var": True}, {"data": (2, 6, 2, 2)})
case("GroupNorm_one_group", "GroupNorm", {}, {"data": (3, 2, 5)})
case("SVMOutput_l2", "SVMOutput", {}, {"data": (4, 5), "label": (4,)},
     values={"label": _indices(5)}, grad_skip=["label"])
case("SVMOutput_l1_margin", "SVMOutput", {"use_linear": True, "margin": 0.5,
                                          "regularization_coefficient": 0.3},
     {"data": (4, 5), "label": (4,)}, values={"label": _indices(5)}, grad_skip=["label"])
case("SVMOutput_l2_coef", "SVMOutput", {"margin": 2.0, "regularization_coefficient": 0.7},
     {"data": (3, 4), "label": (3,)}, values={"label": _indices(4)}, grad_skip=["label"])


def _fixed(rows):
    return lambda rng, shape: np.array(rows, np.float64).reshape(shape)


case("CTCLoss_blank_first", "CTCLoss", {}, {"data": (6, 3, 5), "label": (3, 3)},
     values={"label": _fixed([[1, 2, 0], [3, 3, 1], [4, 0, 0]])}, grad_skip=["label"])
case("CTCLoss_blank_last", "CTCLoss", {"blank_label": "last"},
     {"data": (6, 3, 5), "label": (3, 4)},
     values={"label": _fixed([[0, 1, -1, -1], [2, 2, 0, 3], [3, -1, -1, -1]])},
     grad_skip=["label"])
case("CTCLoss_lengths", "ctc_loss", {"use_data_lengths": True, "use_label_lengths": True},
     {"data": (7, 3, 4), "label": (3, 3), "data_lengths": (3,), "label_lengths": (3,)},
     values={"label": _fixed([[1, 2, 3], [3, 3, 1], [2, 1, 1]]),
             "data_lengths": _fixed([7, 4, 5]), "label_lengths": _fixed([2, 3, 1])},
     grad_skip=["label", "data_lengths", "label_lengths"])


def _small(rng, shape):
    return rng.uniform(-0.4, 0.4, shape)


# MXNet 1.9.1's CPU RNN runs on MKLDNN (its fallback without MKLDNN fails for LSTM and returns
# garbage for the other modes). It ignores lstm_state_clip_min/max (a cuDNN option), which
# symnet applies as documented, so no golden covers the clipping.
for cid, kw, data in [
        ("RNN_lstm", {"mode": "lstm", "state_size": 4, "num_layers": 1}, (5, 2, 3)),
        ("RNN_lstm_bi_2layers_states", {"mode": "lstm", "state_size": 3, "num_layers": 2,
                                        "bidirectional": True, "state_outputs": True},
         (4, 2, 3)),
        ("RNN_gru_bi_states", {"mode": "gru", "state_size": 4, "num_layers": 1,
                               "bidirectional": True, "state_outputs": True}, (4, 3, 2)),
        ("RNN_gru_2layers", {"mode": "gru", "state_size": 3, "num_layers": 2}, (5, 2, 4)),
        ("RNN_tanh_2layers_states", {"mode": "rnn_tanh", "state_size": 4, "num_layers": 2,
                                     "state_outputs": True}, (4, 2, 3)),
        ("RNN_relu_bi", {"mode": "rnn_relu", "state_size": 3, "num_layers": 1,
                         "bidirectional": True}, (4, 2, 3))]:
    case(cid, "RNN", kw, {"data": data}, values={"parameters": _small})


# ---- creation, ordering, indexing and layout ops --------------------------------------------
case("_zeros", "_zeros", {"shape": (2, 3)}, {}, grad=False)
case("_ones", "_ones", {"shape": (3,)}, {}, grad=False)
case("_full", "_full", {"shape": (2, 2), "value": 2.5}, {}, grad=False)
case("_arange_repeat", "_arange", {"start": 1, "stop": 7, "step": 2, "repeat": 2}, {},
     grad=False)
case("_arange_to_start", "_arange", {"start": 5}, {}, grad=False)
case("_arange_negative_step", "_arange", {"start": 3, "stop": -1, "step": -0.5}, {},
     grad=False)
case("topk_indices", "topk", {"k": 2}, {"data": (3, 5)})
case("topk_value_axis0", "topk", {"k": 2, "axis": 0, "ret_typ": "value"}, {"data": (3, 5)})
case("topk_both", "topk", {"k": 3, "ret_typ": "both"}, {"data": (2, 5)})
case("topk_mask", "topk", {"k": 2, "ret_typ": "mask"}, {"data": (3, 4)})
case("topk_ascend", "topk", {"k": 2, "ret_typ": "value", "is_ascend": True}, {"data": (3, 4)})
# MXNet 1.9.1 cannot bind topk with axis=None, nor sort with its default axis (the backward op
# gets axis=''): sort names its axis here, and topk's flattened form is tested against numpy.
case("sort_last_axis", "sort", {"axis": -1}, {"data": (3, 5)})
case("sort_axis0_desc", "sort", {"axis": 0, "is_ascend": False}, {"data": (4, 3)})
case("argsort_default", "argsort", {}, {"data": (3, 5)})
case("argsort_flat_desc", "argsort", {"axis": None, "is_ascend": False}, {"data": (2, 3)})
case("pick_keepdims", "pick", {"axis": 1, "keepdims": True}, {"data": (3, 5), "index": (3,)},
     values={"index": _indices(5)}, grad_skip=["index"])
case("pick_axis0_clip", "pick", {"axis": 0}, {"data": (3, 4), "index": (4,)},
     values={"index": lambda rng, shape: rng.randint(-2, 6, shape).astype(np.float64)},
     grad_skip=["index"])
case("pick_wrap", "pick", {"mode": "wrap"}, {"data": (2, 3, 4), "index": (2, 3)},
     values={"index": lambda rng, shape: rng.randint(-6, 9, shape).astype(np.float64)},
     grad_skip=["index"])
# batch_take: MXNet 1.9.1 wants int32 indices and has no gradient for it; numpy tests it.
case("gather_nd", "gather_nd", {}, {"data": (3, 4, 2), "indices": (2, 5)},
     values={"indices": lambda rng, shape: np.stack([rng.randint(0, 3, shape[1]),
                                                     rng.randint(0, 4, shape[1])])
             .astype(np.float64)}, grad_skip=["indices"])
case("squeeze_all", "squeeze", {}, {"data": (3, 1, 5, 1)})
case("squeeze_axis", "squeeze", {"axis": (1,)}, {"data": (3, 1, 5, 1)})
case("slice_like_axes", "slice_like", {"axes": (1,)}, {"data": (3, 5), "shape_like": (2, 2)},
     grad_skip=["shape_like"])
case("slice_like_all", "slice_like", {}, {"data": (4, 5), "shape_like": (2, 3)},
     grad_skip=["shape_like"])
case("reshape_like", "reshape_like", {}, {"lhs": (3, 4), "rhs": (2, 6)}, grad_skip=["rhs"])
case("reshape_like_range", "reshape_like", {"lhs_begin": 1, "lhs_end": 2, "rhs_begin": 0,
                                            "rhs_end": 2}, {"lhs": (2, 6, 3), "rhs": (2, 3)},
     grad_skip=["rhs"])
case("depth_to_space", "depth_to_space", {"block_size": 2}, {"data": (1, 8, 2, 3)})
case("space_to_depth", "space_to_depth", {"block_size": 2}, {"data": (1, 2, 4, 6)})
case("diag_k1", "diag", {"k": 1}, {"data": (3, 4)})
case("diag_vector", "diag", {"k": -1}, {"data": (3,)})
case("diag_axes", "diag", {"axis1": 1, "axis2": 2}, {"data": (2, 3, 3)})
case("moments_axes", "moments", {"axes": (0, 2)}, {"data": (3, 4, 2)})
case("moments_keepdims", "moments", {"axes": (0, 1), "keepdims": True}, {"data": (2, 3)})
case("softmax_cross_entropy", "softmax_cross_entropy", {}, {"data": (3, 4), "label": (3,)},
     values={"label": _indices(4)}, grad_skip=["label"])
case("smooth_l1", "smooth_l1", {"scalar": 2.0}, {"data": (3, 4)})
case("hard_sigmoid", "hard_sigmoid", {}, {"data": (3, 4)},
     values={"data": lambda rng, shape: rng.uniform(-4, 4, shape)})
case("hard_sigmoid_params", "hard_sigmoid", {"alpha": 0.5, "beta": 0.1}, {"data": (3, 4)})


def _rois(rng, shape):
    """[batch_index, x1, y1, x2, y2] in image coordinates (2x the 9x8 feature map), some
    running past the border; one degenerate box."""
    rows = []
    for i in range(shape[0]):
        x1, y1 = rng.uniform(-2, 14), rng.uniform(-2, 12)
        rows.append([i % 2, x1, y1, x1 + rng.uniform(0, 10), y1 + rng.uniform(0, 9)])
    rows[-1][3], rows[-1][4] = rows[-1][1], rows[-1][2]
    return np.array(rows, np.float64)


case("ROIPooling", "ROIPooling", {"pooled_size": (2, 3), "spatial_scale": 0.5},
     {"data": (2, 3, 8, 9), "rois": (5, 5)}, values={"rois": _rois}, grad_skip=["rois"])
case("ROIPooling_full_scale", "ROIPooling", {"pooled_size": (3, 3), "spatial_scale": 1.0},
     {"data": (1, 2, 6, 7), "rois": (3, 5)},
     values={"rois": _fixed([[0, 0, 0, 4, 4], [0, 1, 2, 6, 5], [0, 3, 1, 3, 4]])},
     grad_skip=["rois"])


def _jsonable(v):
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    return v


def _sym_fn(op):
    fn = getattr(mx.sym, op, None)
    return fn if fn is not None else getattr(mx.sym._internal, op)


def build(cid, op, kwargs, inputs, is_train, extra, seed, arrays):
    rng = np.random.RandomState(seed)
    name = "op"
    sym = _sym_fn(op)(*[mx.sym.Variable(n) for n in inputs], name=name, **kwargs)
    arg_shapes, out_shapes, aux_shapes = sym.infer_shape(**inputs)
    args = sym.list_arguments()
    auxs = sym.list_auxiliary_states()
    outs = sym.list_outputs()
    skip = extra.get("grad_skip", [])
    req = {a: ("null" if a in skip else "write") for a in args}
    exe = sym.simple_bind(mx.cpu(), grad_req=req or "null", **inputs)  # "null": no inputs
    values = extra.get("values", {})
    aux_values = extra.get("aux", {})
    for a, shape in zip(args, arg_shapes):
        short = a[len(name) + 1:] if a.startswith(name + "_") else a
        gen = values.get(a) or values.get(short)
        val = gen(rng, shape) if gen else rng.randn(*shape)
        val = val.astype(np.float32)
        exe.arg_dict[a][:] = val
        arrays[f"{cid}/arg/{a}"] = val
    for a, shape in zip(auxs, aux_shapes):
        short = a[len(name) + 1:]
        gen = aux_values.get(short)
        val = (gen(rng, shape) if gen else rng.randn(*shape) * 0.3).astype(np.float32)
        exe.aux_dict[a][:] = val
        arrays[f"{cid}/aux/{a}"] = val
    exe.forward(is_train=is_train)
    heads = []
    for i, o in enumerate(exe.outputs):
        arrays[f"{cid}/out/{i}"] = o.asnumpy()
        h = rng.randn(*o.shape).astype(np.float32)
        arrays[f"{cid}/head_grad/{i}"] = h
        heads.append(mx.nd.array(h))
    grad = extra.get("grad", True)
    if grad:
        exe.backward(out_grads=heads)
        for a in args:
            if a not in skip:
                arrays[f"{cid}/grad/{a}"] = exe.grad_dict[a].asnumpy()
    for a in auxs:
        arrays[f"{cid}/aux_after/{a}"] = exe.aux_dict[a].asnumpy()
    entry = {
        "id": cid, "op": op, "kwargs": {k: _jsonable(v) for k, v in kwargs.items()},
        "inputs": list(inputs), "name": name, "is_train": is_train,
        "arguments": args, "aux_states": auxs, "outputs": outs,
        "out_shapes": [list(s) for s in out_shapes], "arg_shapes": [list(s) for s in arg_shapes],
        "aux_shapes": [list(s) for s in aux_shapes], "grad": grad,
        "grad_skip": extra.get("grad_skip", []),
    }
    for k in ("rtol", "atol"):
        if k in extra:
            entry[k] = extra[k]
    return entry


def _run(selected, arrays):
    cases = []
    for i, (cid, op, kwargs, inputs, is_train, extra) in enumerate(CASES):
        if i not in selected:
            continue
        try:
            cases.append(build(cid, op, kwargs, inputs, is_train, extra, 1000 + i, arrays))
        except mx.base.MXNetError:
            print(f"case {cid} failed in MXNet", file=sys.stderr)
            raise
    return cases


def main() -> int:
    # MXNet compat: a few Deconvolution settings (target_shape, dilation with pad) crash
    # MXNet's MKLDNN kernels; those cases run in a child process with MKLDNN disabled, which
    # uses MXNet's reference CPU implementation.
    plain = [i for i, c in enumerate(CASES) if c[5].get("mkldnn", True) is False]
    if "--no-mkldnn-part" in sys.argv:
        arrays = {}
        cases = _run(set(plain), arrays)
        out = sys.argv[sys.argv.index("--no-mkldnn-part") + 1]
        np.savez(out + ".npz", **arrays)
        with open(out + ".json", "w") as f:
            json.dump(cases, f)
        return 0
    import subprocess
    import tempfile

    os.makedirs(OUT_DIR, exist_ok=True)
    arrays = {}
    cases = _run(set(range(len(CASES))) - set(plain), arrays)
    with tempfile.TemporaryDirectory() as tmp:
        part = os.path.join(tmp, "part")
        env = dict(os.environ, MXNET_MKLDNN_ENABLED="0")
        subprocess.run([sys.executable, __file__, "--no-mkldnn-part", part], env=env,
                       check=True)
        with open(part + ".json") as f:
            cases.extend(json.load(f))
        with np.load(part + ".npz", allow_pickle=False) as z:
            arrays.update({k: z[k] for k in z.files})
    order = {c[0]: i for i, c in enumerate(CASES)}
    cases.sort(key=lambda c: order[c["id"]])
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    with open(os.path.join(OUT_DIR, f"{GROUP}.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
    np.savez_compressed(os.path.join(OUT_DIR, f"{GROUP}.npz"), **arrays)
    print(f"wrote {len(cases)} cases, {len(arrays)} arrays to {OUT_DIR}/{GROUP}.*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
