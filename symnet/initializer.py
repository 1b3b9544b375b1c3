"""Parameter initializers with MXNet 1.9.1's names, dispatch rules and ``dumps()`` strings.

``init(InitDesc(name, attrs), arr)``: a variable's ``__init__`` attr (e.g. from
``Variable(init=mx.init.Xavier())``) wins; otherwise the name's suffix decides: ``weight`` ->
the initializer's rule, ``bias``/``beta``/``min`` -> 0, ``gamma``/``max`` -> 1. The legacy
``init(name_str, arr)`` path (FeedForward) also knows ``moving_mean``/``moving_var``/
``moving_inv_var``/``moving_avg`` and ``upsampling*`` (bilinear).

Random draws use ``jax.random`` with an explicit ``key`` or ``symnet.random.next_key()``; they
follow MXNet's distributions, not its bit streams.

Example:
    >>> Uniform().dumps()
    '["uniform", {"scale": 0.07}]'
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from .base import ParamError, ShapeError

__all__ = ["InitDesc", "Initializer", "Uniform", "Normal", "Xavier", "MSRAPrelu", "Orthogonal",
           "Constant", "Zero", "One", "Load", "Mixed", "Bilinear", "LSTMBias", "FusedRNN",
           "register",
           "alias", "create", "init_params"]

_REGISTRY: Dict[str, type] = {}


class InitDesc(str):
    """Name of a variable plus its attrs (from ``Symbol.attr_dict()``), used for dispatch.

    Args:
        name: the variable name.
        attrs: its attributes; ``__init__`` selects the initializer.
        global_init: the initializer to fall back to.
    """

    def __new__(cls, name: str, attrs: Optional[Mapping[str, str]] = None, global_init=None):
        ret = super().__new__(cls, name)
        ret.attrs = dict(attrs or {})
        ret.global_init = global_init
        return ret


def register(klass: type) -> type:
    """Register an initializer class under its lower-cased class name."""
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


def alias(*aliases: str) -> Callable[[type], type]:
    """Register extra (lower-cased) names for an initializer class."""
    def reg(klass):
        for a in aliases:
            _REGISTRY[a.lower()] = klass
        return klass
    return reg


def create(init: Any = None, /, *args, **kwargs) -> "Initializer":
    """Create an initializer from an instance, a name, a dumps() JSON string or a dict.

    Raises:
        ParamError: an unknown name (the message lists the known ones).

    Example:
        >>> create('xavier', magnitude=2).dumps()
        '["xavier", {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 2}]'
    """
    if init is None:
        init = kwargs.pop("initializer", None)
    if isinstance(init, (Initializer, Load, Mixed)):
        if args or kwargs:
            raise ParamError("create: initializer is already an instance; extra arguments "
                             "are invalid.")
        return init
    if isinstance(init, dict):
        return create(**init)
    if not isinstance(init, str):
        raise ParamError(f"create: expected an initializer name, instance or JSON string, "
                         f"received {type(init).__name__} {init!r}.")
    text = init.strip()
    if text.startswith("["):
        try:
            name, kw = json.loads(text)
        except (ValueError, TypeError) as err:
            raise ParamError(f"create: malformed initializer string {init!r}: {err}. Expected "
                             f"'[\"name\", {{kwargs}}]' as written by dumps().") from None
        return create(name, **kw)
    if text.startswith("{"):
        return create(**json.loads(text))
    klass = _REGISTRY.get(text.lower())
    if klass is None:
        known = ", ".join(sorted(_REGISTRY))
        raise ParamError(f"Unknown initializer {init!r}. Known initializers: {known}.")
    return klass(*args, **kwargs)


def _uniform(key, shape, low: float, high: float):
    """U(low, high) float32 from a jax key, or on the host from a numpy Generator."""
    if isinstance(key, np.random.Generator):
        return key.uniform(low, high, size=shape).astype(np.float32)
    return jax.random.uniform(_key(key), shape, jnp.float32, low, high)


def _normal(key, shape):
    """N(0, 1) float32 from a jax key, or on the host from a numpy Generator."""
    if isinstance(key, np.random.Generator):
        return key.standard_normal(size=shape).astype(np.float32)
    return jax.random.normal(_key(key), shape, jnp.float32)


def _key(key):
    if key is not None:
        return key
    from . import random as _random
    return _random.next_key()


def _dev(value: Any, dtype: Any = None) -> jax.Array:
    """Host values as a device array (``jax.device_put``: no compilation per shape, unlike
    ``jnp.asarray`` of a numpy array)."""
    return jax.device_put(np.asarray(value, dtype=None if dtype is None else np.dtype(dtype)))


def _set(arr, value) -> None:
    """Write ``value`` into an NDArray (or numpy array) in place, keeping its dtype/shape."""
    if hasattr(arr, "_data"):
        old = arr._data
        arr._data = jnp.broadcast_to(jnp.asarray(value, dtype=old.dtype), tuple(old.shape))
    elif isinstance(arr, np.ndarray):
        arr[...] = np.asarray(value)
    else:
        raise ParamError(f"Initializer: arr must be an NDArray, received {type(arr).__name__}.")


def _shape(arr) -> Tuple[int, ...]:
    return tuple(int(d) for d in arr.shape)


def _dtype(arr):
    d = getattr(arr, "_data", arr)
    return jnp.dtype(d.dtype)


class Initializer:
    """Base class: subclasses implement :meth:`_gen_weight` (pure, returns an array).

    ``__call__(desc, arr)`` fills ``arr`` in place (MXNet API); :meth:`generate` is the pure
    face ``(name_or_desc, shape, dtype, key) -> jax.Array`` used by :func:`init_params`.
    """

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    def set_verbosity(self, verbose: bool = False, print_func=None) -> "Initializer":
        """Switch on/off logging of initialized arrays' statistics."""
        self._verbose = verbose
        self._print_func = print_func
        return self

    def dumps(self) -> str:
        """JSON string describing the initializer, e.g. ``'["normal", {"sigma": 0.5}]'``."""
        return json.dumps([type(self).__name__.lower(), self._kwargs])

    def __eq__(self, other):
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and self._kwargs == other._kwargs

    def __hash__(self):
        return hash(self.dumps())

    def __repr__(self) -> str:
        return self.dumps()

    # ---------------------------------------------------------------- dispatch
    def _rule(self, desc: str, legacy: bool, attrs: Mapping[str, str]) -> Tuple[Any, str]:
        """(initializer, kind) chosen for a variable; kind in weight/zero/one/bilinear/..."""
        init_attr = attrs.get("__init__", "") if not legacy else ""
        if init_attr:
            return create(init_attr), "weight"
        name = str(desc)
        if legacy:
            if name.startswith("upsampling"):
                return self, "bilinear"
            if name.startswith("stn_loc") and name.endswith("weight"):
                return self, "zero"
            if name.startswith("stn_loc") and name.endswith("bias"):
                return self, "loc_bias"
            for suffix, kind in (("bias", "zero"), ("gamma", "one"), ("beta", "zero"),
                                 ("weight", "weight"), ("moving_mean", "zero"),
                                 ("moving_var", "one"), ("moving_inv_var", "zero"),
                                 ("moving_avg", "zero"), ("min", "zero"), ("max", "one")):
                if name.endswith(suffix):
                    return self, kind
        else:
            for suffix, kind in (("weight", "weight"), ("bias", "zero"), ("gamma", "one"),
                                 ("beta", "zero"), ("min", "zero"), ("max", "one")):
                if name.endswith(suffix):
                    return self, kind
        raise ParamError(
            f"Unknown initialization pattern for {name!r}. Default initialization is limited "
            f"to names ending in 'weight', 'bias', 'gamma' (1.0) and 'beta' (0.0); use "
            f"mx.sym.Variable({name!r}, init=mx.init.*) to choose one.")

    def generate(self, desc, shape: Sequence[int], dtype=jnp.float32, key=None,
                 legacy: bool = False) -> jax.Array:
        """Pure: the initial value of variable ``desc`` with ``shape`` (dispatch included).

        Args:
            desc: an :class:`InitDesc` (its attrs may hold ``__init__``) or a name.
            shape: the array shape.
            dtype: result dtype.
            key: a jax PRNG key; defaults to ``symnet.random.next_key()`` when needed.
            legacy: use the FeedForward name rules (``init(name_str, arr)``).
        """
        shape = tuple(int(d) for d in shape)
        attrs = getattr(desc, "attrs", {}) or {}
        init, kind = self._rule(desc, legacy, attrs)
        if init is not self:  # from the variable's __init__: it may fall back on this one
            init._global_init = getattr(desc, "global_init", None) or self
        return init._gen_kind(kind, str(desc), shape, jnp.dtype(dtype), key)

    def _gen_kind(self, kind, name, shape, dtype, key) -> jax.Array:
        if kind == "zero":
            return _dev(np.zeros(shape, dtype))
        if kind == "one":
            return _dev(np.ones(shape, dtype))
        if kind == "bilinear":
            return _dev(_bilinear(shape), dtype)
        if kind == "loc_bias":
            if shape[0] != 6:
                raise ShapeError(f"{name}: stn_loc bias must have 6 entries, got {shape}.")
            return _dev([1.0, 0, 0, 0, 1.0, 0], dtype)
        return _dev(self._gen_weight(name, shape, dtype, key), dtype)

    def _gen_weight(self, name: str, shape, dtype, key) -> jax.Array:
        raise NotImplementedError(f"{type(self).__name__} must implement _gen_weight")

    def __call__(self, desc, arr) -> None:
        """Initialize ``arr`` (an NDArray) in place, MXNet style.

        ``desc`` is an :class:`InitDesc` (attr/suffix dispatch) or a plain name string (the
        legacy FeedForward rules).
        """
        legacy = not isinstance(desc, InitDesc)
        if legacy and not isinstance(desc, str):
            raise ParamError(f"Initializer: name must be a string or InitDesc, received "
                             f"{type(desc).__name__}.")
        if not legacy and desc.global_init is None:
            desc.global_init = self
        value = self.generate(desc, _shape(arr), _dtype(arr), None, legacy=legacy)
        _set(arr, value)

    # MXNet-style hooks, for subclasses written against MXNet's API
    def _init_weight(self, name, arr) -> None:
        _set(arr, self._gen_weight(str(name), _shape(arr), _dtype(arr), None))

    def _init_bias(self, _, arr) -> None:
        _set(arr, 0.0)

    def _init_gamma(self, _, arr) -> None:
        _set(arr, 1.0)

    def _init_beta(self, _, arr) -> None:
        _set(arr, 0.0)

    def _init_zero(self, _, arr) -> None:
        _set(arr, 0.0)

    def _init_one(self, _, arr) -> None:
        _set(arr, 1.0)

    def _init_bilinear(self, _, arr) -> None:
        _set(arr, _bilinear(_shape(arr)))


def _bilinear(shape: Tuple[int, ...]) -> np.ndarray:
    """Bilinear upsampling kernel (MXNet's formula), shape (..., kh, kw)."""
    if len(shape) != 4:
        raise ShapeError(f"Bilinear initializer needs a 4-D weight (C, 1, kh, kw), got "
                         f"shape {shape}.")
    f = np.ceil(shape[3] / 2.)
    c = (2 * f - 1 - f % 2) / (2. * f)
    x = np.arange(shape[3])
    y = np.arange(shape[2])
    wx = 1 - np.abs(x / f - c)
    wy = 1 - np.abs(y / f - c)
    kern = (wy[:, None] * wx[None, :]).astype(np.float32)
    return np.broadcast_to(kern, shape).copy()


def _fans(name: str, shape) -> Tuple[float, float]:
    if len(shape) < 2:
        raise ShapeError(f"Xavier initializer cannot be applied to vector {name} of shape "
                         f"{tuple(shape)}. It requires at least 2D.")
    hw = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
    return shape[1] * hw, shape[0] * hw


@register
@alias("zeros")
class Zero(Initializer):
    """Fill weights with 0 (bias 0, gamma 1 by suffix, as in MXNet)."""

    def __init__(self):
        super().__init__()

    def _gen_weight(self, name, shape, dtype, key):
        return np.zeros(shape, dtype)


@register
@alias("ones")
class One(Initializer):
    """Fill weights with 1."""

    def __init__(self):
        super().__init__()

    def _gen_weight(self, name, shape, dtype, key):
        return np.ones(shape, dtype)


@register
class Constant(Initializer):
    """Fill weights with ``value`` (a scalar or an array broadcastable to the weight)."""

    def __init__(self, value: Any):
        super().__init__(value=value)
        self.value = value

    def _gen_weight(self, name, shape, dtype, key):
        val = getattr(self.value, "_data", self.value)
        return jnp.broadcast_to(jnp.asarray(val, dtype), shape)

    def dumps(self) -> str:
        val = self._kwargs["value"]
        if not np.isscalar(val):
            val = np.asarray(getattr(val, "asnumpy", lambda: val)()).tolist()
        return json.dumps([type(self).__name__.lower(), dict(self._kwargs, value=val)])


@register
class Uniform(Initializer):
    """U(-scale, scale); ``scale`` defaults to 0.07 (FeedForward/Module default to 0.01)."""

    def __init__(self, scale: float = 0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _gen_weight(self, name, shape, dtype, key):
        return _uniform(key, shape, -self.scale, self.scale)


@register
class Normal(Initializer):
    """N(0, sigma^2), sigma defaults to 0.01."""

    def __init__(self, sigma: float = 0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _gen_weight(self, name, shape, dtype, key):
        return self.sigma * _normal(key, shape)


@register
class Orthogonal(Initializer):
    """Orthogonal rows/columns (SVD of a random (out, prod(in)) matrix) times ``scale``."""

    def __init__(self, scale: float = 1.414, rand_type: str = "uniform"):
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _gen_weight(self, name, shape, dtype, key):
        nout = shape[0]
        nin = int(np.prod(shape[1:]))
        if self.rand_type == "uniform":
            tmp = _uniform(key, (nout, nin), -1.0, 1.0)
        elif self.rand_type == "normal":
            tmp = _normal(key, (nout, nin))
        else:
            raise ParamError(f"Orthogonal rand_type must be 'uniform' or 'normal', received "
                             f"{self.rand_type!r}.")
        u, _, v = np.linalg.svd(np.asarray(tmp, np.float64), full_matrices=False)
        res = u if u.shape == (nout, nin) else v
        return _dev(self.scale * res.reshape(shape), np.float32)


@register
class Xavier(Initializer):
    """Xavier/Glorot: scale = sqrt(magnitude / factor) with factor = (fan_in+fan_out)/2 |
    fan_in | fan_out; fan_in = shape[1]*prod(shape[2:]), fan_out = shape[0]*prod(shape[2:]).

    Args:
        rnd_type: ``'uniform'`` (U(-scale, scale)) or ``'gaussian'`` (N(0, scale^2)).
        factor_type: ``'avg'``, ``'in'`` or ``'out'``.
        magnitude: numerator of the scale.
    """

    def __init__(self, rnd_type: str = "uniform", factor_type: str = "avg",
                 magnitude: float = 3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def scale_for(self, name: str, shape) -> float:
        """The bound (uniform) or standard deviation (gaussian) used for ``shape``."""
        fan_in, fan_out = _fans(name, tuple(shape))
        if self.factor_type == "avg":
            factor = (fan_in + fan_out) / 2.0
        elif self.factor_type == "in":
            factor = fan_in
        elif self.factor_type == "out":
            factor = fan_out
        else:
            raise ParamError(f"Xavier factor_type must be 'avg', 'in' or 'out', received "
                             f"{self.factor_type!r}.")
        return float(np.sqrt(self.magnitude / factor))

    def _gen_weight(self, name, shape, dtype, key):
        scale = self.scale_for(name, shape)
        if self.rnd_type == "uniform":
            return _uniform(key, shape, -scale, scale)
        if self.rnd_type == "gaussian":
            return scale * _normal(key, shape)
        raise ParamError(f"Xavier rnd_type must be 'uniform' or 'gaussian', received "
                         f"{self.rnd_type!r}.")


@register
class MSRAPrelu(Xavier):
    """He/MSRA init: Xavier('gaussian', factor_type, magnitude=2/(1+slope^2))."""

    def __init__(self, factor_type: str = "avg", slope: float = 0.25):
        magnitude = 2. / (1 + slope ** 2)
        super().__init__("gaussian", factor_type, magnitude)
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """Bilinear interpolation kernel for Deconvolution-based upsampling weights."""

    def __init__(self):
        super().__init__()

    def _gen_weight(self, name, shape, dtype, key):
        return _dev(_bilinear(tuple(shape)))


@register
class LSTMBias(Initializer):
    """Zeros except the forget-gate quarter, set to ``forget_bias``."""

    def __init__(self, forget_bias: float = 1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _gen_weight(self, name, shape, dtype, key):
        out = np.zeros(shape, np.float32)
        nh = int(shape[0] / 4)
        out[nh:2 * nh] = self.forget_bias
        return _dev(out)


@register
class FusedRNN(Initializer):
    """Initialize the flat ``parameters`` of the fused ``RNN`` operator piece by piece.

    The vector is cut as MXNet's ``FusedRNNCell.unpack_weights`` cuts it, one piece per layer,
    direction and gate (``l0_i2h_i_weight`` (H, in), ``r1_h2h_f_bias`` (H,)...); ``init``
    (or, if None, the initializer that found this one in the variable's ``__init__``) fills
    each by its name, and the LSTM forget-gate biases get ``forget_bias``.

    Example:
        >>> params = mx.sym.Variable('rnn_parameters', init=mx.init.FusedRNN(
        ...     mx.init.Xavier(), num_hidden=64, num_layers=2, mode='lstm'))
    """

    _GATES = {"rnn_relu": ("",), "rnn_tanh": ("",), "lstm": ("_i", "_f", "_c", "_o"),
              "gru": ("_r", "_z", "_o")}

    def __init__(self, init: Any, num_hidden: int, num_layers: int, mode: str,
                 bidirectional: bool = False, forget_bias: float = 1.0):
        if isinstance(init, str):
            init = create(init)
        if mode not in self._GATES:
            raise ParamError(f"FusedRNN: mode {mode!r} is not one of {sorted(self._GATES)}")
        super().__init__(init=init.dumps() if init is not None else None,
                         num_hidden=num_hidden, num_layers=num_layers, mode=mode,
                         bidirectional=bidirectional, forget_bias=forget_bias)
        self._init = init
        self._global_init: Optional[Any] = None
        self._num_hidden, self._num_layers = int(num_hidden), int(num_layers)
        self._mode, self._bidirectional = mode, bool(bidirectional)
        self._forget_bias = float(forget_bias)

    def pieces(self, size: int) -> List[Tuple[str, Tuple[int, ...]]]:
        """``[(name, shape)]`` of a ``size``-long parameter vector, in packing order."""
        from .ops.rnn import param_layout
        h, dirs, gates = self._num_hidden, 2 if self._bidirectional else 1, self._GATES[self._mode]
        g = len(gates)
        rest = (self._num_layers - 1) * (h + dirs * h + 2)
        input_size = size // dirs // h // g - rest - h - 2
        layout = param_layout(self._mode, self._num_layers, self._bidirectional, input_size, h)
        if input_size < 1 or sum(int(np.prod(s)) for _, s in layout) != size:
            raise ShapeError(f"FusedRNN: {size} parameters do not fit a {self._num_layers}-layer "
                             f"{self._mode} with num_hidden={h}"
                             f"{' (bidirectional)' if self._bidirectional else ''}")
        out = []
        for name, shape in layout:  # e.g. l0_i2h_weight (G*H, in) -> l0_i2h_i_weight (H, in)
            prefix, kind = name.rsplit("_", 1)
            out += [(f"{prefix}{gate}_{kind}", (h,) + tuple(shape[1:])) for gate in gates]
        return out

    def _gen_weight(self, name, shape, dtype, key):
        init = self._init or self._global_init
        if init is None:
            raise ParamError(f"FusedRNN for {name!r}: init is None and there is no global "
                             "initializer to fall back on")
        size = int(np.prod(shape))
        parts = self.pieces(size)
        if key is None or isinstance(key, np.random.Generator):  # a Generator draws in turn
            keys = [key] * len(parts)
        else:
            keys = list(jax.random.split(key, len(parts)))
        out = []
        for (piece, pshape), k in zip(parts, keys):
            if self._mode == "lstm" and piece.endswith("_f_bias"):
                out.append(jnp.full(pshape, self._forget_bias, dtype))
            else:
                out.append(init.generate(InitDesc(piece), pshape, dtype, k))
        return jnp.concatenate([o.reshape(-1) for o in out]).reshape(shape)


class Load:
    """Initialize from a dict (or ``.params`` file) of arrays; ``arg:``/``aux:`` prefixes dropped.

    Args:
        param: file name or dict name -> NDArray/array.
        default_init: used for names not in ``param`` (else an error).
        verbose: log what was loaded.
    """

    def __init__(self, param: Any, default_init: Optional[Initializer] = None,
                 verbose: bool = False):
        if isinstance(param, str):
            from . import ndarray as nd
            param = nd.load(param)
        if not isinstance(param, dict):
            raise ParamError(f"Load expects a dict name -> array or a .params file name, "
                             f"received {type(param).__name__}.")
        self.param = {}
        for name, arr in param.items():
            key = name[4:] if name.startswith(("arg:", "aux:")) else name
            self.param[key] = arr
        self.default_init = default_init
        self.verbose = verbose

    def _value(self, name: str, shape):
        src = self.param[name]
        val = np.asarray(src.asnumpy() if hasattr(src, "asnumpy") else src)
        if tuple(val.shape) != tuple(shape):
            raise ShapeError(f"Parameter {name} cannot be initialized from loading. Shape "
                             f"mismatch, target {tuple(shape)} vs loaded {tuple(val.shape)}.")
        return val

    def generate(self, desc, shape, dtype=jnp.float32, key=None, legacy=False):
        """Pure face (see :meth:`Initializer.generate`)."""
        name = str(desc)
        if name in self.param:
            return _dev(self._value(name, shape), dtype)
        if self.default_init is None:
            raise ParamError(f"Cannot initialize {name}: not found in the loaded params and "
                             f"no default initializer was given (Load(param, default_init=...)).")
        return self.default_init.generate(desc, shape, dtype, key, legacy)

    def __call__(self, name, arr) -> None:
        if str(name) in self.param:
            _set(arr, self._value(str(name), _shape(arr)))
        elif self.default_init is None:
            raise ParamError(f"Cannot initialize {name}: not found in the loaded params and no "
                             f"default initializer was given (Load(param, default_init=...)).")
        else:
            self.default_init(name, arr)


class Mixed:
    """Pick the initializer by the first regex (``re.match``, anchored at the start) matching
    the name, e.g. ``Mixed(['.*bias', '.*'], [Zero(), Uniform(0.1)])``."""

    def __init__(self, patterns: Sequence[str], initializers: Sequence[Any]):
        if len(patterns) != len(initializers):
            raise ParamError(f"Mixed: {len(patterns)} patterns but {len(initializers)} "
                             f"initializers; give one initializer per pattern.")
        self.map = list(zip([re.compile(p) for p in patterns], initializers))

    def _pick(self, name: str):
        for prog, init in self.map:
            if prog.match(name):
                return init
        raise ParamError(f"Parameter name {name} did not match any pattern. Consider adding "
                         f"a '.*' pattern at the end with a default initializer.")

    def generate(self, desc, shape, dtype=jnp.float32, key=None, legacy=False):
        """Pure face (see :meth:`Initializer.generate`)."""
        return self._pick(str(desc)).generate(desc, shape, dtype, key, legacy)

    def __call__(self, name, arr) -> None:
        self._pick(str(name))(name, arr)


def init_params(initializer: Any, shapes: Mapping[str, Sequence[int]],
                attrs: Optional[Mapping[str, Mapping[str, str]]] = None, key=None,
                dtypes: Optional[Mapping[str, Any]] = None) -> Dict[str, jax.Array]:
    """Initial values for many variables at once (the trainer's functional helper).

    Args:
        initializer: an Initializer (or Load/Mixed, or anything :func:`create` accepts).
        shapes: name -> shape, in the order to draw (one subkey per name, split from ``key``).
        attrs: name -> attrs (``Symbol.attr_dict()``); a variable's ``__init__`` attr wins.
        key: jax PRNG key; defaults to ``symnet.random.next_key()``.
        dtypes: optional name -> dtype (float32 by default).

    Returns:
        dict name -> jax.Array with the given shapes.

    Example:
        >>> p = init_params(Uniform(0.01), {'fc_weight': (2, 3), 'fc_bias': (2,)},
        ...                 key=jax.random.PRNGKey(0))
        >>> float(p['fc_bias'].sum())
        0.0
    """
    init = initializer if isinstance(initializer, (Initializer, Load, Mixed)) \
        else create(initializer)
    attrs = attrs or {}
    dtypes = dtypes or {}
    base = _key(key)
    names = list(shapes)
    keys = jax.random.split(base, max(len(names), 1))
    out = {}
    for i, name in enumerate(names):
        desc = InitDesc(name, attrs.get(name, {}), global_init=init)
        out[name] = init.generate(desc, shapes[name], dtypes.get(name, jnp.float32), keys[i])
    return out


def initialize_all(initializer: Any, targets: Sequence[Tuple[Any, Any]]) -> None:
    """Initialise many NDArrays in place, ``initializer(desc, arr)`` for each ``(desc, arr)``.

    Built-in initializers draw on the host with numpy generators seeded from symnet's global
    seed (no XLA compilation per parameter shape); subclasses that override ``__call__`` and
    ``Load``/``Mixed`` run per array, MXNet style. ``desc`` is an InitDesc or a name
    (FeedForward's legacy rules).
    """
    targets = list(targets)
    batched = isinstance(initializer, Initializer) and \
        type(initializer).__call__ is Initializer.__call__
    if not batched or not targets:
        for desc, arr in targets:
            initializer(desc, arr)
        return
    specs = []
    for desc, arr in targets:
        if isinstance(desc, InitDesc) and desc.global_init is None:
            desc.global_init = initializer
        specs.append((desc, _shape(arr), jnp.dtype(_dtype(arr)), not isinstance(desc, InitDesc)))
    # Drawn on the host (numpy), as MXNet does: no compilation at all, whatever the shapes.
    # The generators derive from symnet's global seed (mx.random.seed).
    from . import random as _random
    rngs = np.random.default_rng(_random.next_key_bits().tolist()).spawn(len(specs))
    for (_, arr), (d, shape, dtype, legacy), rng in zip(targets, specs, rngs):
        _set(arr, initializer.generate(d, shape, dtype, rng, legacy=legacy))
