"""The sweep file: loading with line numbers, axes, sampling (grid, seeded random, Latin hypercube)
and constraints. Everything here is plain Python; nothing talks to Dask or runs cimtlm.

A bad sweep file raises SweepError naming file, line, column and key path (the CLI exits 2), the
same shape as cimtlm's own configuration errors.
"""
import ast
import itertools
import math
import os
import random

import yaml


class SweepError(Exception):
    """Bad input: a message 'file:line:col: key.path: what is wrong'."""


class _Node:
    """A YAML value with where it was written."""

    def __init__(self, value, line, column):
        self.value = value
        self.line = line
        self.column = column


def _to_nodes(node):
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        mapping = {}
        for key_node, value_node in node.value:
            mapping[str(key_node.value)] = (_to_nodes(value_node), key_node.start_mark.line + 1,
                                            key_node.start_mark.column + 1)
        return _Node(mapping, line, column)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_to_nodes(item) for item in node.value], line, column)
    # Scalars: let PyYAML's safe resolver give int/float/bool/null/str.
    return _Node(_scalar(node), line, column)


def _scalar(node):
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node)
    finally:
        loader.dispose()


def _plain(node):
    if isinstance(node.value, dict):
        return {key: _plain(child) for key, (child, _, _) in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(child) for child in node.value]
    return node.value


AXIS_FORMS = ("values", "range", "uniform", "log_uniform", "integers")
SAMPLINGS = ("grid", "random", "lhs")
TOP_KEYS = ("name", "platform", "networks", "scenario", "set", "axes", "sampling", "constraints",
            "accuracy", "inferences", "timeout_s")


class Axis:
    """One swept key path: a finite list of values, or a distribution to sample from."""

    def __init__(self, key, values=None, distribution=None, low=None, high=None):
        self.key = key
        self.values = values  # finite choice (grid, or sampled uniformly among them)
        self.distribution = distribution  # None, 'uniform', 'log_uniform', 'integers'
        self.low = low
        self.high = high

    def finite(self):
        return self.values is not None

    def at(self, fraction):
        """The value at a quantile fraction in [0, 1) (random and Latin-hypercube sampling)."""
        if self.values is not None:
            return self.values[min(int(fraction * len(self.values)), len(self.values) - 1)]
        if self.distribution == "integers":
            span = self.high - self.low + 1
            return self.low + min(int(fraction * span), span - 1)
        if self.distribution == "log_uniform":
            value = math.exp(math.log(self.low) + fraction * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + fraction * (self.high - self.low)
        # Six significant digits: the value is written on the command line and into the hash, so
        # it must print the same everywhere.
        return float(f"{value:.6g}")


class Sweep:
    """A loaded sweep file (paths resolved against the file's folder)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.folder = os.path.dirname(self.path)
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SweepError(f"{path}: cannot read the sweep file: {error}")
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
            raise SweepError(f"{where}: invalid YAML: {getattr(error, 'problem', error)}")
        if root is None or not isinstance(root, yaml.MappingNode):
            raise SweepError(f"{path}:1:1: the sweep file must be a mapping (platform, axes, ...)")
        self._file = path
        self._root = _to_nodes(root)
        self._parse()

    # -- errors --------------------------------------------------------------------------------
    def _error(self, node, key, message):
        line, column = (node.line, node.column) if node is not None else (1, 1)
        return SweepError(f"{self._file}:{line}:{column}: {key}: {message}")

    def _get(self, mapping_node, key):
        entry = mapping_node.value.get(key)
        return entry[0] if entry else None

    def _path(self, node, key):
        value = node.value
        if not isinstance(value, str) or not value:
            raise self._error(node, key, "expected a file path")
        resolved = value if os.path.isabs(value) else os.path.normpath(os.path.join(self.folder, value))
        if not os.path.isfile(resolved):
            raise self._error(node, key, f"no such file: {resolved}")
        return resolved

    # -- parsing -------------------------------------------------------------------------------
    def _parse(self):
        root = self._root
        for key, (_, line, column) in root.value.items():
            if key not in TOP_KEYS:
                raise SweepError(f"{self._file}:{line}:{column}: {key}: unknown key (expected one of "
                                 f"{', '.join(TOP_KEYS)})")
        name = self._get(root, "name")
        self.name = str(name.value) if name is not None else os.path.splitext(os.path.basename(self.path))[0]

        platform = self._get(root, "platform")
        scenario = self._get(root, "scenario")
        if (platform is None) == (scenario is None):
            raise self._error(root, "platform", "give exactly one of 'platform' (with 'networks') or "
                              "'scenario' (a platform file whose workload names its networks)")
        self.platform = self._path(platform or scenario, "platform" if platform else "scenario")

        self.networks = []
        networks = self._get(root, "networks")
        if networks is not None:
            items = networks.value if isinstance(networks.value, list) else [networks]
            for index, item in enumerate(items):
                self.networks.append(self._path(item, f"networks[{index}]"))
            if not self.networks:
                raise self._error(networks, "networks", "the list is empty")
        elif platform is not None:
            raise self._error(platform, "networks", "a 'platform' sweep needs 'networks' (or use "
                              "'scenario' to run the platform's own workload)")
        if not self.networks:
            self.networks = [None]  # the platform's workload.networks

        self.fixed = {}
        fixed = self._get(root, "set")
        if fixed is not None:
            if not isinstance(fixed.value, dict):
                raise self._error(fixed, "set", "expected a mapping of key.path: value")
            for key, (node, _, _) in fixed.value.items():
                self.fixed[key] = self._scalar_value(node, f"set.{key}")

        self.inferences = self._int(self._get(root, "inferences"), "inferences", 1, default=None)
        self.timeout_s = self._number(self._get(root, "timeout_s"), "timeout_s", default=3600.0)

        self._parse_axes()
        self._parse_sampling()
        self._parse_constraints()
        self._parse_accuracy()

    def _scalar_value(self, node, key):
        if isinstance(node.value, (dict, list)) or node.value is None:
            raise self._error(node, key, "expected a scalar value (number, bool or text such as '2 ns')")
        return node.value

    def _int(self, node, key, minimum, default):
        if node is None:
            return default
        if not isinstance(node.value, int) or isinstance(node.value, bool) or node.value < minimum:
            raise self._error(node, key, f"expected an integer >= {minimum}")
        return node.value

    def _number(self, node, key, default):
        if node is None:
            return default
        if not isinstance(node.value, (int, float)) or isinstance(node.value, bool) or node.value <= 0:
            raise self._error(node, key, "expected a positive number")
        return float(node.value)

    def _parse_axes(self):
        axes = self._get(self._root, "axes")
        if axes is None or not isinstance(axes.value, dict) or not axes.value:
            raise self._error(axes or self._root, "axes", "expected a mapping of key.path: values "
                              "(a list, {range: [start, stop, step]}, {uniform|log_uniform|integers: [low, high]})")
        self.axes = []
        for key, (node, _, _) in axes.value.items():
            path = f"axes.{key}"
            if key in self.fixed:
                raise self._error(node, path, "also given under 'set'")
            if isinstance(node.value, list):
                values = [self._scalar_value(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
                if not values:
                    raise self._error(node, path, "the list is empty")
                self.axes.append(Axis(key, values=values))
                continue
            if not isinstance(node.value, dict) or len(node.value) != 1:
                raise self._error(node, path, "expected a list or one of " + ", ".join(AXIS_FORMS))
            form, (arguments, _, _) = next(iter(node.value.items()))
            if form not in AXIS_FORMS:
                raise self._error(node, f"{path}.{form}", "unknown axis form (expected one of "
                                  f"{', '.join(AXIS_FORMS)})")
            numbers = arguments.value if isinstance(arguments.value, list) else None
            if form == "values":
                if not numbers:
                    raise self._error(arguments, f"{path}.values", "expected a non-empty list")
                self.axes.append(Axis(key, values=[self._scalar_value(n, f"{path}.values") for n in numbers]))
                continue
            if numbers is None or any(not isinstance(n.value, (int, float)) or isinstance(n.value, bool)
                                      for n in numbers):
                raise self._error(arguments, f"{path}.{form}", "expected a list of numbers")
            numbers = [n.value for n in numbers]
            if form == "range":
                if len(numbers) != 3 or numbers[2] <= 0 or numbers[1] < numbers[0]:
                    raise self._error(arguments, f"{path}.range", "expected [start, stop, step] with "
                                      "stop >= start and step > 0 (stop included)")
                start, stop, step = numbers
                count = int(math.floor((stop - start) / step + 1e-9)) + 1
                integral = all(isinstance(n, int) for n in numbers)
                values = [start + i * step if integral else float(f"{start + i * step:.6g}") for i in range(count)]
                self.axes.append(Axis(key, values=values))
                continue
            if len(numbers) != 2 or numbers[1] < numbers[0]:
                raise self._error(arguments, f"{path}.{form}", "expected [low, high] with high >= low")
            low, high = numbers
            if form == "integers" and not all(isinstance(n, int) for n in numbers):
                raise self._error(arguments, f"{path}.{form}", "expected integer bounds")
            if form == "log_uniform" and low <= 0:
                raise self._error(arguments, f"{path}.{form}", "expected low > 0")
            self.axes.append(Axis(key, distribution=form, low=low, high=high))

    def _parse_sampling(self):
        node = self._get(self._root, "sampling")
        self.sampling, self.samples, self.sampling_seed = "grid", None, 1
        if node is not None:
            if isinstance(node.value, str):
                method, samples, seed = node, None, None
            elif isinstance(node.value, dict):
                for key, (child, _, _) in node.value.items():
                    if key not in ("method", "samples", "seed"):
                        raise self._error(child, f"sampling.{key}", "unknown key (method, samples, seed)")
                method = self._get(node, "method")
                samples = self._get(node, "samples")
                seed = self._get(node, "seed")
            else:
                raise self._error(node, "sampling", "expected grid|random|lhs or {method, samples, seed}")
            if method is not None:
                if method.value not in SAMPLINGS:
                    raise self._error(method, "sampling.method", f"expected one of {', '.join(SAMPLINGS)}")
                self.sampling = method.value
            self.samples = self._int(samples, "sampling.samples", 1, default=None)
            self.sampling_seed = self._int(seed, "sampling.seed", 0, default=1)
            if self.sampling != "grid" and self.samples is None:
                raise self._error(node, "sampling.samples", f"{self.sampling} sampling needs a sample count")
        if self.sampling == "grid":
            for axis in self.axes:
                if not axis.finite():
                    node = self._get(self._get(self._root, "axes"), axis.key)
                    raise self._error(node, f"axes.{axis.key}", f"a {axis.distribution} axis needs "
                                      "sampling: {method: random|lhs, samples: N}")

    def _parse_constraints(self):
        node = self._get(self._root, "constraints")
        self.constraints = []
        if node is None:
            return
        items = node.value if isinstance(node.value, list) else None
        if items is None:
            raise self._error(node, "constraints", "expected a list of conditions")
        known = {axis.key for axis in self.axes} | set(self.fixed) | {"network"}
        for index, item in enumerate(items):
            if not isinstance(item.value, str):
                raise self._error(item, f"constraints[{index}]", "expected a condition such as "
                                  "'core.cim.rows_per_activation <= core.cim.rows'")
            try:
                self.constraints.append(Constraint(item.value, known))
            except ValueError as error:
                raise self._error(item, f"constraints[{index}]", str(error))

    def _parse_accuracy(self):
        node = self._get(self._root, "accuracy")
        self.accuracy = None
        if node is None:
            return
        if not isinstance(node.value, dict):
            raise self._error(node, "accuracy", "expected {inputs: X.npy, labels: Y.npy, samples: N}")
        for key, (child, _, _) in node.value.items():
            if key not in ("inputs", "labels", "samples"):
                raise self._error(child, f"accuracy.{key}", "unknown key (inputs, labels, samples)")
        if self.networks == [None]:
            raise self._error(node, "accuracy", "needs 'networks' (cimtlm evaluate runs one network)")
        for key in ("inputs", "labels"):
            if self._get(node, key) is None:
                raise self._error(node, f"accuracy.{key}", "missing")
        self.accuracy = {
            "inputs": self._path(self._get(node, "inputs"), "accuracy.inputs"),
            "labels": self._path(self._get(node, "labels"), "accuracy.labels"),
            "samples": self._int(self._get(node, "samples"), "accuracy.samples", 1, default=20),
        }

    # -- points --------------------------------------------------------------------------------
    def points(self):
        """Every point as (network, {axis key: value}) after constraints, in a stable order, and
        the number of combinations the constraints dropped."""
        if self.sampling == "grid":
            combos = itertools.product(*[axis.values for axis in self.axes])
            raw = [dict(zip([a.key for a in self.axes], combo)) for combo in combos]
        else:
            generator = random.Random(self.sampling_seed)
            raw = []
            if self.sampling == "random":
                for _ in range(self.samples):
                    raw.append({axis.key: axis.at(generator.random()) for axis in self.axes})
            else:
                # Latin hypercube: each axis cut into `samples` strata, one sample per stratum, the
                # strata of different axes paired by independent seeded permutations.
                strata = {}
                for axis in self.axes:
                    order = list(range(self.samples))
                    generator.shuffle(order)
                    strata[axis.key] = [(order[i] + generator.random()) / self.samples
                                        for i in range(self.samples)]
                for i in range(self.samples):
                    raw.append({axis.key: axis.at(strata[axis.key][i]) for axis in self.axes})
        result, dropped = [], 0
        for network in self.networks:
            for values in raw:
                environment = dict(self.fixed)
                environment.update(values)
                environment["network"] = os.path.basename(network) if network else ""
                if all(constraint.holds(environment) for constraint in self.constraints):
                    result.append((network, values))
                else:
                    dropped += 1
        return result, dropped


class Constraint:
    """A condition over axis values ('core.cim.rows_per_activation <= core.cim.rows'): Python
    comparisons, arithmetic, and/or/not, numbers and strings. It is parsed into a syntax tree and
    evaluated by a small interpreter, never by eval(): a sweep file cannot run code."""

    _BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
               ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
               ast.Pow: lambda a, b: a ** b}
    _COMPARE = {ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
                ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
                ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}

    def __init__(self, text, known):
        self.text = text
        try:
            self.tree = ast.parse(text, mode="eval").body
        except SyntaxError as error:
            raise ValueError(f"cannot parse the condition: {error.msg}")
        self._check(self.tree, known)

    def _name(self, node):
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            base = self._name(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def _check(self, node, known):
        name = self._name(node)
        if name is not None:
            if name not in known:
                raise ValueError(f"'{name}' is neither an axis, a 'set' key nor 'network'")
            return
        allowed = (ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Constant, ast.Tuple, ast.List)
        if not isinstance(node, allowed):
            raise ValueError(f"'{ast.unparse(node)}' is not allowed (comparisons, arithmetic, and/or/not)")
        if isinstance(node, ast.BinOp) and type(node.op) not in self._BINARY:
            raise ValueError(f"operator in '{ast.unparse(node)}' is not allowed")
        if isinstance(node, ast.Compare) and any(type(op) not in self._COMPARE for op in node.ops):
            raise ValueError(f"comparison in '{ast.unparse(node)}' is not allowed")
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.operator, ast.cmpop, ast.boolop, ast.unaryop, ast.expr_context)):
                continue
            self._check(child, known)

    def holds(self, environment):
        return bool(self._evaluate(self.tree, environment))

    def _evaluate(self, node, environment):
        name = self._name(node)
        if name is not None:
            return environment[name]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            return [self._evaluate(item, environment) for item in node.elts]
        if isinstance(node, ast.UnaryOp):
            value = self._evaluate(node.operand, environment)
            if isinstance(node.op, ast.Not):
                return not value
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BinOp):
            return self._BINARY[type(node.op)](self._evaluate(node.left, environment),
                                               self._evaluate(node.right, environment))
        if isinstance(node, ast.BoolOp):
            values = (self._evaluate(v, environment) for v in node.values)
            return all(values) if isinstance(node.op, ast.And) else any(values)
        left = self._evaluate(node.left, environment)
        for op, right_node in zip(node.ops, node.comparators):
            right = self._evaluate(right_node, environment)
            if not self._COMPARE[type(op)](left, right):
                return False
            left = right
        return True


def set_text(value):
    """A value as written after --set key=: booleans in YAML spelling, the rest as printed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def workload_network_digests(platform):
    """SHA-256 of each network a platform file's workload names (a scenario sweep runs them),
    in order; paths relative to the platform file. Unreadable entries are left to cimtlm."""
    from . import task

    try:
        with open(platform) as handle:
            networks = ((yaml.safe_load(handle) or {}).get("workload") or {}).get("networks") or []
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    folder = os.path.dirname(os.path.abspath(platform))
    digests = []
    for path in networks if isinstance(networks, list) else []:
        resolved = path if os.path.isabs(str(path)) else os.path.join(folder, str(path))
        digests.append(task.file_digest(resolved) if os.path.isfile(resolved) else str(path))
    return digests
